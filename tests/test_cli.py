"""`intq inspect` and `intq run` on the shared MobileNet v1 0.25 model, and their errors on bad input."""
from __future__ import annotations

import os

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


def _fc_model(tmp_path) -> str:
    """A FULLY_CONNECTED model with a 2-D uint8 input [1, 4] (no image can feed it), saved as fc.tflite."""
    from intq.io import save_tflite
    from intq.ir import Graph, Quantization, options_for
    g = Graph()
    g.add_tensor("x", (1, 4), "uint8", Quantization.per_tensor(0.1, 128))
    g.add_constant("w", np.full((3, 4), 130, np.uint8), Quantization.per_tensor(0.02, 128))
    g.add_constant("b", np.zeros(3, np.int32), Quantization.per_tensor(0.1 * 0.02, 0))
    g.add_tensor("y", (1, 3), "uint8", Quantization.per_tensor(0.05, 10))
    g.add_node("FULLY_CONNECTED", ["x", "w", "b"], ["y"], options_for("FULLY_CONNECTED"), name="fc")
    g.inputs, g.outputs = ["x"], ["y"]
    path = tmp_path / "fc.tflite"
    save_tflite(g, path)
    return str(path)


def _x(tmp_path, name="x.npy") -> str:
    path = tmp_path / name
    with open(path, "wb") as f:                           # np.save(path) would append .npy to X.NPY
        np.save(f, np.arange(4, dtype=np.uint8).reshape(1, 4))
    return str(path)


@pytest.mark.parametrize("args", [["--threads", "0"], ["--threads", "-3"], ["--threads", "5000"],
                                  ["--top", "0"], ["--top", "-1"]])
def test_bad_threads_or_top_is_a_usage_error(tmp_path, capsys, args):
    with pytest.raises(SystemExit) as e:
        main(["run", _fc_model(tmp_path), _x(tmp_path), *args])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {args[0]}" in err and "Traceback" not in err


def _one_line_error(capsys, argv, *needles):
    """main(argv) exits 2 with one 'intq: error:' line naming each needle, and prints nothing on stdout."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("intq: error:") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err


def test_unreadable_labels_file_is_a_one_line_error(tmp_path, capsys):
    model, x = _fc_model(tmp_path), _x(tmp_path)
    _one_line_error(capsys, ["run", model, x, "--labels", str(tmp_path / "missing.txt")],
                    "missing.txt", "No such file")
    _one_line_error(capsys, ["run", model, x, "--labels", str(tmp_path)], str(tmp_path), "Is a directory")


def test_unwritable_save_path_is_a_one_line_error_before_any_output(tmp_path, capsys):
    model, x = _fc_model(tmp_path), _x(tmp_path)
    (tmp_path / "afile").write_bytes(b"x")
    for path in (tmp_path, tmp_path / "nope" / "out.npz", tmp_path / "afile" / "out.npz"):
        _one_line_error(capsys, ["run", model, x, "--save", str(path)], f"cannot write {path}")
    if os.path.isdir("/proc/self"):                       # accepted by the early check, refused by the write
        _one_line_error(capsys, ["run", model, x, "--save", "/proc/out.npz"], "cannot write /proc/out.npz")


def test_image_for_a_model_without_an_image_input_is_a_one_line_error(shared_data, tmp_path, capsys):
    image = str(shared_data / "tflite-test-images/cat.bmp")
    _one_line_error(capsys, ["run", _fc_model(tmp_path), image], image, "not a 4-D image")


def test_npy_suffix_is_case_insensitive(tmp_path, capsys):
    out = tmp_path / "out.npz"
    assert main(["run", _fc_model(tmp_path), _x(tmp_path, "X.NPY"), "--save", str(out)]) == 0
    assert "output 0 y: uint8[1, 3]" in capsys.readouterr().out and np.load(out)["output_0"].shape == (1, 3)


def test_version(capsys):
    import intq
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"intq {intq.__version__}"
