"""`intq inspect` and `intq run` on the shared MobileNet v1 0.25 model, and their errors on bad input."""
from __future__ import annotations

import numpy as np
import pytest

from intq.cli import main

MODEL = "tflite-quant-models/mobilenet_v1_0.25_128_quant.tflite"


def test_inspect_prints_ops_qparams_and_macs(shared_data, capsys):
    assert main(["inspect", str(shared_data / MODEL)]) == 0
    out = capsys.readouterr().out
    assert "DEPTHWISE_CONV_2D" in out and "SOFTMAX" in out
    # MobileNet v1 0.25/128 is published as a ~14 M multiply-accumulate model
    total = int(out.split("total MACs per inference: ")[1].split(";")[0].replace(",", ""))
    assert 13_000_000 < total < 15_000_000


def test_run_on_golden_input_matches_litert_reference(shared_data, tmp_path, capsys):
    golden = np.load(shared_data / "tflite-reference-outputs/mobilenet_v1_0.25_128_quant.npz")
    x = tmp_path / "cat.npy"
    np.save(x, golden["input_cat"])
    out = tmp_path / "out.npz"
    assert main(["run", str(shared_data / MODEL), str(x), "--kernels", "reference", "--save", str(out)]) == 0
    assert np.array_equal(np.load(out)["output_0"], golden["ref_cat"])
    assert "class   286" in capsys.readouterr().out          # Egyptian cat, as LiteRT says


def test_run_on_image(shared_data, capsys):
    labels = shared_data / "tflite-quant-models/imagenet_labels.txt"
    assert main(["run", str(shared_data / MODEL), str(shared_data / "tflite-test-images/cat.bmp"),
                 "--labels", str(labels), "--top", "1"]) == 0
    assert "cat" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"not a model at all", b"\x00" * 64])
def test_corrupt_model_is_a_clear_error(tmp_path, capsys, content):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content)
    assert main(["inspect", str(bad)]) == 2
    assert "intq: error:" in capsys.readouterr().err


def test_wrong_input_shape_is_a_clear_error(shared_data, tmp_path, capsys):
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((1, 64, 64, 3), np.uint8))
    assert main(["run", str(shared_data / MODEL), str(x)]) == 2
    assert "shape" in capsys.readouterr().err
