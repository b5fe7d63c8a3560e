"""intq.train.checkpoint: atomic write, round trip of model / optimizer / RNG, errors."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from intq.errors import ModelFileError
from intq.train.checkpoint import load_checkpoint, save_checkpoint


def test_roundtrip_restores_everything(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.rand(4, 3)).sum().backward()
    opt.step()
    np.random.seed(5)
    save_checkpoint(tmp_path / "c.pt", model, opt, epoch=3, step=17, extra={"k": 1})
    expect_np, expect_t = np.random.rand(), torch.rand(1)
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temp file left behind
    model2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.Adam(model2.parameters())
    state = load_checkpoint(tmp_path / "c.pt", model2, opt2)
    assert (state["epoch"], state["step"], state["extra"]) == (3, 17, {"k": 1})
    assert np.random.rand() == expect_np and torch.equal(torch.rand(1), expect_t)
    torch.testing.assert_close(model2.weight, model.weight, rtol=0, atol=0)
    assert opt2.state_dict()["state"][0]["step"] == 1


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    model = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    save_checkpoint(tmp_path / "c.pt", model, opt, 0, 1)
    before = (tmp_path / "c.pt").read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "c.pt", model, opt, 1, 2)
    assert (tmp_path / "c.pt").read_bytes() == before
    assert os.listdir(tmp_path) == ["c.pt"]


def test_errors(tmp_path):
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ModelFileError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt", model)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ModelFileError):
        load_checkpoint(tmp_path / "junk.pt", model)
    save_checkpoint(tmp_path / "c.pt", torch.nn.Linear(3, 3), torch.optim.SGD(model.parameters(), lr=1), 0, 0)
    with pytest.raises(ModelFileError):
        load_checkpoint(tmp_path / "c.pt", model)  # wrong shapes
