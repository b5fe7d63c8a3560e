"""`intq demo`: float vs PTQ-int8 vs QAT-int8 on the embedded digits, end to end, in a few minutes on a CPU.
Imports: torch, numpy, stdlib, intq.{train, io, data}."""
from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from intq.data import load_dataset, to_float
from intq.io.tflite_import import load_tflite
from intq.train.checkpoint import load_checkpoint
from intq.train.config import TrainConfig
from intq.train.evaluate import int_latency_ms, torch_latency_ms
from intq.train.loop import make_model, train
from intq.train.report import Row, format_table, write_report


@dataclass
class DemoConfig:
    """The demo's fixed recipe (paper §3: train float, then fine-tune with simulated quantization)."""

    out: str = "intq-demo-out"
    seed: int = 0
    model: str = "mobilenet_v1"
    width: float = 0.5
    depth: int = 6              # first 6 MobileNet v1 blocks: 8x8 inputs need no more, and it stays quick
    float_epochs: int = 12
    qat_epochs: int = 4         # fine-tuning from the float weights, quantized from step 0
    freeze_bn_epoch: int = 2    # freeze BN statistics after this many QAT epochs (paper App. C)
    batch_size: int = 64
    lr: float = 3e-3
    qat_lr: float = 5e-4
    threads: int = 1            # tiny convolutions: one thread beats several on a shared 2-core box


def run_demo(cfg: DemoConfig) -> dict:
    """Train float, calibrate PTQ, fine-tune QAT, convert both, evaluate with intq's integer runtime, report."""
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    base = TrainConfig(model=cfg.model, data="digits", width=cfg.width, depth=cfg.depth, batch_size=cfg.batch_size,
                       seed=cfg.seed, threads=cfg.threads, device="cpu", ema_decay=0.99)
    steps_per_epoch = 1438 // cfg.batch_size
    print(f"[1/3] float training: {cfg.model} width {cfg.width}, {cfg.float_epochs} epochs on digits (8x8)")
    m_float = train(_with(base, mode="float", epochs=cfg.float_epochs, lr=cfg.lr, out=str(out / "float")))
    ckpt = str(out / "float" / "checkpoint.pt")
    print("[2/3] PTQ: calibrating the float model's ranges on 10 training batches, converting")
    m_ptq = train(_with(base, mode="ptq", epochs=0, init=ckpt, out=str(out / "ptq")))
    print(f"[3/3] QAT: fine-tuning the float model with fake quantization for {cfg.qat_epochs} epochs, converting")
    m_qat = train(_with(base, mode="qat", epochs=cfg.qat_epochs, init=ckpt, lr=cfg.qat_lr,
                        freeze_bn_delay=cfg.freeze_bn_epoch * steps_per_epoch, out=str(out / "qat")))
    shutil.copyfile(out / "qat" / "model.tflite", out / "model.tflite")

    data = load_dataset("digits")
    x_test = to_float(data.test.images)
    float_model = make_model(base, data.image_shape, data.num_classes)
    load_checkpoint(ckpt, float_model, restore_rng=False)
    graph = load_tflite(out / "model.tflite")
    rows = [Row("float32 (torch)", m_float["float_accuracy"], None, m_float.get("float_bytes") or _bytes(float_model)),
            Row("PTQ int8 (intq)", m_ptq["int_accuracy"], m_ptq["int_vs_fake_quant_agreement"], m_ptq["tflite_bytes"]),
            Row("QAT int8 (intq)", m_qat["int_accuracy"], m_qat["int_vs_fake_quant_agreement"], m_qat["tflite_bytes"])]
    latency = {"intq_int8_ms": int_latency_ms(graph, x_test), "torch_float_ms": torch_latency_ms(float_model, x_test)}
    summary = {"rows": [r.__dict__ for r in rows], "latency": latency, "test_images": int(len(x_test)),
               "seconds": time.perf_counter() - t0}
    print(format_table(rows, latency, len(x_test)))
    write_report(out, rows, latency, summary, m_float, m_qat)
    print(f"wrote {out / 'model.tflite'}, {out / 'report.md'}, {out / 'report.png'} "
          f"({summary['seconds']:.0f} s)")
    return summary


def _with(base: TrainConfig, **changes) -> TrainConfig:
    return TrainConfig(**{**base.to_dict(), **changes})


def _bytes(model: torch.nn.Module) -> int:
    return int(sum(p.numel() * p.element_size() for p in model.parameters()))
