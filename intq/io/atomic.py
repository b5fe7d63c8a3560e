"""Atomic file writes: a temporary file in the target's directory, then os.replace. Imports: stdlib, intq.errors."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from intq.errors import WriteError

_TRIES = 100          # temporary names tried before giving up (each is new, random)


def atomic_write(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one.

    A symbolic link is written through (its target is replaced, the link stays). The bytes go to a temporary
    file in the target's directory (same filesystem, so ``os.replace`` is an atomic rename), created with mode
    0o666 less the umask, or with the old file's permissions when one is replaced; they are flushed and fsynced,
    then renamed over the target. On any error the temporary file is removed and the target is left as it was.
    A path that cannot be written (empty, a directory, a missing or non-directory parent, no permission...)
    raises :class:`~intq.errors.WriteError` (an OSError) naming ``path``.
    """
    target = check_writable(path)
    fd, tmp = _create_temp(path, target)
    try:
        with os.fdopen(fd, "wb") as f:
            if target.exists():
                os.fchmod(f.fileno(), target.stat().st_mode & 0o7777)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise _write_error(path, e) from e
        raise


def check_writable(path: str | os.PathLike) -> Path:
    """The real path (symbolic links resolved) that writing ``path`` would replace; WriteError naming ``path``
    when it is empty, a directory, or its parent is missing or not a directory. Permissions are left to the
    write itself."""
    name = os.fspath(path)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if name == "":
        raise WriteError("''", "the path is empty")
    target = Path(os.path.realpath(name))
    if target.is_dir():
        raise WriteError(name, "it is a directory")
    parent = target.parent
    if not parent.exists():
        raise WriteError(name, f"no such directory: {parent}")
    if not parent.is_dir():
        raise WriteError(name, f"not a directory: {parent}")
    return target


def _create_temp(path, target: Path) -> tuple[int, str]:
    """A new temporary file next to ``target``, open for writing: (fd, its path). The mode 0o666 passes through
    the umask as for any new file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_TRIES):
        tmp = str(target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
        except OSError as e:
            raise _write_error(path, e, f"cannot create a file in {target.parent}: ") from e
    raise WriteError(os.fspath(path), f"no free temporary file name in {target.parent}")


def _write_error(path, e: OSError, context: str = "") -> WriteError:
    """WriteError naming the user's ``path`` (not the temporary file) with the cause and errno of ``e``."""
    err = WriteError(os.fsdecode(os.fspath(path)), context + (e.strerror or str(e)))
    err.errno = e.errno
    return err
