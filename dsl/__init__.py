"""The .auction language: grammar, parser, AST with spans, diagnostics, formatter."""
