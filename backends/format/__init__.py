"""Backend ``format``: a named standard format run as it is, for the verifier to measure."""
