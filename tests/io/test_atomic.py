"""tests for intq.io.atomic: the target is replaced whole or left as it was."""
from __future__ import annotations

import os

import pytest

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
    atomic_write(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01" and (path.stat().st_mode & 0o777) == 0o644
