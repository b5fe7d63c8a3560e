"""tests for intq.io.atomic: the target is replaced whole or left as it was."""
from __future__ import annotations

import os

import pytest

from intq.errors import IntqError, WriteError
from intq.io import atomic_write


def test_atomic_write_replaces_existing_file(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    os.chmod(path, 0o600)
    atomic_write(path, b"new contents")
    assert path.read_bytes() == b"new contents"
    assert (path.stat().st_mode & 0o777) == 0o600            # keeps the replaced file's permissions
    assert os.listdir(tmp_path) == ["f.bin"]


def test_atomic_write_leaves_target_untouched_on_failure(tmp_path):
    path = tmp_path / "keep.bin"
    path.write_bytes(b"original")
    with pytest.raises(TypeError):
        atomic_write(path, object())                      # not bytes: the write fails
    assert path.read_bytes() == b"original"
    assert os.listdir(tmp_path) == ["keep.bin"]


def test_atomic_write_new_file_is_readable(tmp_path):
    path = tmp_path / "new.bin"
    old = os.umask(0o022)
    try:
        atomic_write(path, b"\x00\x01")
    finally:
        os.umask(old)
    assert path.read_bytes() == b"\x00\x01" and (path.stat().st_mode & 0o777) == 0o644


@pytest.mark.parametrize("umask", [0o077, 0o002])
def test_new_file_mode_follows_the_umask(tmp_path, umask):
    path = tmp_path / "new.bin"
    old = os.umask(umask)
    try:
        atomic_write(path, b"x")
    finally:
        os.umask(old)
    assert (path.stat().st_mode & 0o777) == 0o666 & ~umask


def test_symlink_is_written_through_to_its_target(tmp_path):
    real = tmp_path / "real.bin"
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.bin"
    link.symlink_to("real.bin")
    atomic_write(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new" and (real.stat().st_mode & 0o777) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["link.bin", "real.bin"]


def _unwritable(tmp_path) -> dict:
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_bytes(b"x")
    return {"a directory": (tmp_path / "adir", "it is a directory"),
            "missing parent": (tmp_path / "nope" / "m.bin", "no such directory"),
            "parent is a file": (tmp_path / "afile" / "m.bin", "not a directory"),
            "empty path": ("", "the path is empty")}


@pytest.mark.parametrize("case", ["a directory", "missing parent", "parent is a file", "empty path"])
def test_unwritable_path_is_a_write_error_naming_the_users_path(tmp_path, case):
    path, why = _unwritable(tmp_path)[case]
    with pytest.raises(WriteError) as e:
        atomic_write(path, b"data")
    assert isinstance(e.value, OSError) and isinstance(e.value, IntqError)
    assert str(e.value).startswith(f"cannot write {path if path != '' else repr(path)}: ") and why in str(e.value)
    assert ".tmp" not in str(e.value)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_directory_refusing_new_files_is_a_write_error_naming_the_path():
    with pytest.raises(WriteError, match=r"cannot write /proc/m.bin: cannot create a file in /proc") as e:
        atomic_write("/proc/m.bin", b"data")
    assert e.value.errno is not None
