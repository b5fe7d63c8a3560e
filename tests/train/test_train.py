"""intq.train.train and `intq train`: float / QAT / PTQ on a tiny digits config, resume, conversion."""
from __future__ import annotations

import json

import pytest
import torch

from intq.cli import main
from intq.errors import IntqError
from intq.io.tflite_import import load_tflite
from intq.train import TrainConfig, train
from intq.train.checkpoint import load_checkpoint
from intq.train.loop import make_model

TINY = dict(model="mobilenet_v1", depth=2, width=0.25, batch_size=32, max_eval=64, threads=1, progress=False)


def test_float_train_and_resume(tmp_path):
    cfg = TrainConfig(mode="float", epochs=1, max_steps=3, out=str(tmp_path), **TINY)
    m1 = train(cfg)
    assert m1["steps"] == 3 and "float_accuracy" in m1 and not (tmp_path / "model.tflite").exists()
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["steps"] == 3
    # resume continues after the saved epoch with the saved weights and step counter
    cfg2 = TrainConfig(mode="float", epochs=2, max_steps=5, out=str(tmp_path), resume=True, **TINY)
    m2 = train(cfg2)
    assert m2["steps"] == 5 and [h["epoch"] for h in m2["history"]] == [1]


def test_resume_is_deterministic(tmp_path):
    # batch 512 on 1438 images: 2 steps per epoch; 2 epochs in one run == 1 epoch, then resume for the 2nd
    a, b = tmp_path / "a", tmp_path / "b"
    small = {**TINY, "max_eval": 8, "batch_size": 512}
    ma = train(TrainConfig(mode="float", epochs=2, out=str(a), **small))
    full = TrainConfig(mode="float", epochs=2, out=str(b), **small)
    train(TrainConfig(**{**full.to_dict(), "epochs": 1}))
    mb = train(TrainConfig(**{**full.to_dict(), "resume": True}))
    assert ma["steps"] == mb["steps"] == 4
    wa, wb = make_model(full, (1, 8, 8), 10), make_model(full, (1, 8, 8), 10)
    load_checkpoint(a / "checkpoint.pt", wa, restore_rng=False)
    load_checkpoint(b / "checkpoint.pt", wb, restore_rng=False)
    for pa, pb in zip(wa.state_dict().values(), wb.state_dict().values()):
        assert torch.equal(pa, pb)


@pytest.mark.parametrize("mode", ["qat", "ptq"])
def test_quantized_modes_convert(tmp_path, mode):
    cfg = TrainConfig(mode=mode, epochs=1, max_steps=3, out=str(tmp_path), calib_batches=2, **TINY)
    m = train(cfg)
    assert m["int_vs_fake_quant_agreement"] == 100.0      # the eval forward computes the integer graph's logits
    assert m["tflite_bytes"] == (tmp_path / "model.tflite").stat().st_size
    graph = load_tflite(tmp_path / "model.tflite")
    assert graph.tensor(graph.inputs[0]).dtype == "float32"


def test_cli_train(tmp_path, capsys):
    rc = main(["train", "--mode", "qat", "--epochs", "1", "--max-steps", "2", "--depth", "1", "--max-eval", "16",
               "--threads", "1", "--no-progress", "--out", str(tmp_path), "--weight-bits", "4"])
    assert rc == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["test_images"] == 16 and (tmp_path / "model.tflite").is_file()
    assert json.loads((tmp_path / "metrics.json").read_text())["config"]["weight_bits"] == 4


def test_cli_train_int8_per_channel(tmp_path, capsys):
    rc = main(["train", "--mode", "qat", "--epochs", "1", "--max-steps", "2", "--depth", "1", "--max-eval", "16",
               "--threads", "1", "--no-progress", "--out", str(tmp_path), "--scheme", "int8", "--per-channel"])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["int_vs_fake_quant_agreement"] == 100.0
    graph = load_tflite(tmp_path / "model.tflite")
    conv = next(n for n in graph.nodes if n.op == "CONV_2D")
    w = graph.tensor(conv.inputs[1])
    assert graph.tensor(conv.outputs[0]).dtype == "int8" and w.dtype == "int8" and w.quant.per_channel
    assert main(["train", "--scheme", "uint8", "--per-channel", "--out", str(tmp_path / "x"), "--max-steps", "1",
                 "--no-progress"]) == 2                                           # refused with a clear message


def test_bad_config(tmp_path):
    with pytest.raises(IntqError):
        train(TrainConfig(mode="int4", out=str(tmp_path)))
    assert main(["train", "--data", "mnist", "--out", str(tmp_path)]) == 2  # no --data-dir: clean error
