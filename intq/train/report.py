"""The demo's table, markdown report and PNG plot. Imports: stdlib, json, intq.io, matplotlib (lazily)."""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

from intq.io.atomic import atomic_write


@dataclass
class Row:
    """One model in the comparison: test accuracy (%), int-vs-fake-quant top-1 agreement (%), bytes on disk."""

    name: str
    accuracy: float
    agreement: float | None
    model_bytes: int


def format_table(rows: list[Row], latency: dict, n_test: int) -> str:
    """Plain-text table of the rows plus the latency line."""
    lines = [f"digits test split: {n_test} images",
             f"{'model':<18} {'top-1 %':>8} {'int vs fake-quant %':>20} {'bytes':>10}",
             "-" * 59]
    for r in rows:
        agree = "-" if r.agreement is None else f"{r.agreement:.2f}"
        lines.append(f"{r.name:<18} {r.accuracy:>8.2f} {agree:>20} {r.model_bytes:>10,}")
    lines.append(f"latency per image: intq int8 {latency['intq_int8_ms']:.3f} ms, "
                 f"torch float32 {latency['torch_float_ms']:.3f} ms (median of single-image runs, 1 thread)")
    return "\n".join(lines)


def write_report(out: Path, rows: list[Row], latency: dict, summary: dict, m_float: dict, m_qat: dict) -> None:
    """report.md (table + how it was made), report.png (accuracy bars + float training loss), summary.json."""
    md = ["# intq demo", "", "Float MobileNet v1 vs post-training quantization (PTQ) vs quantization-aware training "
          "(QAT), uint8 integer-only inference with intq's runtime on the scikit-learn digits test split.", "",
          "| model | top-1 % | int vs fake-quant top-1 agreement % | bytes |", "|---|---:|---:|---:|"]
    for r in rows:
        agree = "-" if r.agreement is None else f"{r.agreement:.2f}"
        md.append(f"| {r.name} | {r.accuracy:.2f} | {agree} | {r.model_bytes:,} |")
    md += ["", f"Latency per image: intq int8 {latency['intq_int8_ms']:.3f} ms; torch float32 "
           f"{latency['torch_float_ms']:.3f} ms.", "",
           f"Total time {summary['seconds']:.0f} s. Reproduce with `intq demo`. Float / PTQ / QAT runs are in "
           "`float/`, `ptq/`, `qat/` (metrics.json, checkpoint.pt, model.tflite); `model.tflite` here is the QAT one.",
           "", "![accuracy](report.png)", ""]
    atomic_write(out / "report.md", "\n".join(md).encode())
    atomic_write(out / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
    _plot(out / "report.png", rows, m_float, m_qat)


def _plot(path: Path, rows: list[Row], m_float: dict, m_qat: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    a.bar([r.name.split(" (")[0] for r in rows], [r.accuracy for r in rows], color=["#777", "#c66", "#48c"])
    lo = min(r.accuracy for r in rows)
    a.set_ylim(max(0.0, lo - 5.0), 100.0)
    a.set_ylabel("test top-1 %")
    a.set_title("accuracy")
    for i, r in enumerate(rows):
        a.text(i, r.accuracy, f"{r.accuracy:.1f}", ha="center", va="bottom")
    offset = m_float["history"][-1]["step"] if m_float.get("history") else 0  # QAT continues the float run
    for m, label, start in ((m_float, "float", 0), (m_qat, "QAT fine-tune", offset)):
        h = m.get("history", [])
        b.plot([start + e["step"] for e in h], [e["train_loss"] for e in h], marker="o", label=label)
    b.set_xlabel("step")
    b.set_ylabel("train loss (log)")
    b.set_yscale("log")
    b.set_title("training")
    b.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    atomic_write(path, buf.getvalue())
