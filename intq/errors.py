"""Exception classes intq raises on bad input. Imports: stdlib only.

Every error intq raises because of what a user gave it derives from :class:`IntqError`,
so ``except intq.errors.IntqError`` catches all of them and nothing else.
"""
from __future__ import annotations


class IntqError(Exception):
    """Base of every error intq raises on bad input."""


class QuantizationError(IntqError, ValueError):
    """Quantization parameters that cannot be used (NaN range, min > max, bad bit width...)."""


class IRError(IntqError):
    """An integer graph that is inconsistent; the message names the node and tensor."""

    def __init__(self, message: str, node: str | None = None, tensor: str | None = None):
        where = []
        if node is not None:
            where.append(f"node {node!r}")
        if tensor is not None:
            where.append(f"tensor {tensor!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.node = node
        self.tensor = tensor


class UnsupportedOpError(IntqError):
    """An operator intq cannot run, convert or write; names the op and where it is."""

    def __init__(self, op: str, where: str | None = None, detail: str = ""):
        msg = f"unsupported op {op!r}"
        if where is not None:
            msg += f" at {where}"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)
        self.op = op
        self.where = where


class ModelFileError(IntqError):
    """A model file that is missing, truncated, corrupt or not a model intq can read."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path


class InputError(IntqError, ValueError):
    """Inputs with the wrong count, dtype or shape, or NaN/inf floats: given to an interpreter (also a batch of 0,
    or another batch where a node would mix samples), or as the example inputs of prepare_qat that the model
    does not run on."""


class ConfigError(IntqError, ValueError):
    """A setting with a value intq cannot use: read from the environment (e.g. INTQ_ISA) or given as an argument
    (e.g. an Interpreter's num_threads); names the choices."""


class WriteError(IntqError, OSError):
    """A file intq cannot write (missing or non-directory parent, no permission, a directory in the way...);
    names the user's path. Also an OSError, so ``except OSError`` keeps catching it."""

    def __init__(self, path: str, message: str):
        super().__init__(f"cannot write {path}: {message}")
        self.path = path


class AllocationError(IntqError, MemoryError):
    """A tensor or buffer too large to allocate (a corrupt shape, or a batch too big for memory); names the
    tensor, its shape and its bytes. Also a MemoryError."""
