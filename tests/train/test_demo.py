"""`intq demo` pipeline on a shortened recipe: table, report files, converted model that LiteRT-compatible io reads."""
from __future__ import annotations

import json

from intq.io.tflite_import import load_tflite
from intq.train.demo import DemoConfig, run_demo
from intq.train.report import Row, format_table


def test_demo_short(tmp_path, capsys):
    cfg = DemoConfig(out=str(tmp_path), depth=1, width=0.25, float_epochs=1, qat_epochs=1, freeze_bn_epoch=0)
    summary = run_demo(cfg)
    out = capsys.readouterr().out
    assert "float32 (torch)" in out and "QAT int8 (intq)" in out and "latency per image" in out
    names = {p.name for p in tmp_path.iterdir()}
    assert {"model.tflite", "report.md", "report.png", "summary.json", "float", "ptq", "qat"} <= names
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = summary["rows"]
    assert [r["name"] for r in rows] == ["float32 (torch)", "PTQ int8 (intq)", "QAT int8 (intq)"]
    assert rows[2]["model_bytes"] == (tmp_path / "model.tflite").stat().st_size
    assert all(0.0 <= r["accuracy"] <= 100.0 for r in rows)
    assert json.loads((tmp_path / "summary.json").read_text())["test_images"] == 359
    load_tflite(tmp_path / "model.tflite")


def test_table_format():
    rows = [Row("float32 (torch)", 97.5, None, 1000), Row("QAT int8 (intq)", 97.25, 99.5, 250)]
    text = format_table(rows, {"intq_int8_ms": 1.0, "torch_float_ms": 2.0}, 10)
    assert "97.50" in text and "99.50" in text and "1,000" in text and " - " in text
