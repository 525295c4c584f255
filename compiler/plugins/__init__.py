"""The plugin interface the compiler owns: what a backend declares (capabilities,
options, codes), what it is given (parsed options, a run context) and what it returns;
and the registry that finds backends through entry points."""

from .interface import Backend, Capabilities, CompileResult, Exported, RunContext, Verdict
from .options import OptionSpec
from .registry import available_backends, backend_class, get_backend

__all__ = [
    "Backend",
    "Capabilities",
    "CompileResult",
    "Exported",
    "OptionSpec",
    "RunContext",
    "Verdict",
    "available_backends",
    "backend_class",
    "get_backend",
]
