"""The paper's experiments in miniature on MNIST / Fashion-MNIST with a MobileNet v1-style network.

Runs `intq train` configurations (float; PTQ and QAT at 8-bit; 4-bit weights PTQ vs QAT; ReLU vs ReLU6; the
int8 scheme with per-channel weights) and prints a table with float / fake-quant / integer-only accuracy on the
full test set and the agreement of the integer graph with the fake-quant model. Every row prints the exact `intq train` command that reproduces it.

    python experiments/paper_in_miniature.py --data-dir ../shared/data --data fashion-mnist --out exp-out
"""
from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

from intq.train import TrainConfig, train

FLAGS = {"model": "--model", "data": "--data", "data_dir": "--data-dir", "mode": "--mode", "epochs": "--epochs",
         "batch_size": "--batch-size", "lr": "--lr", "weight_bits": "--weight-bits", "activation": "--activation",
         "width": "--width", "depth": "--depth", "init": "--init", "max_train": "--max-train", "seed": "--seed",
         "threads": "--threads", "out": "--out", "calib_batches": "--calib-batches", "scheme": "--scheme",
         "per_channel": "--per-channel"}


def command(cfg: TrainConfig) -> str:
    """The `intq train` command line equivalent to ``cfg`` (defaults left out)."""
    d, parts = TrainConfig(), ["intq", "train"]
    for field, flag in FLAGS.items():
        v = getattr(cfg, field)
        if v is True:
            parts.append(flag)                          # a store_true switch
        elif v is not None and (v != getattr(d, field) or field in ("model", "data", "mode", "out")):
            parts += [flag, str(v)]
    return " ".join(shlex.quote(p) for p in parts)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="fashion-mnist", choices=["mnist", "fashion-mnist"])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", default="exp-out")
    ap.add_argument("--max-train", type=int, default=12000, help="training images used (2 shared cores: keep small)")
    ap.add_argument("--float-epochs", type=int, default=2)
    ap.add_argument("--qat-epochs", type=int, default=1)
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--only", nargs="*", default=None, help="run only these rows (names as printed)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    base = TrainConfig(model="mobilenet_v1", data=args.data, data_dir=args.data_dir, width=args.width,
                       depth=args.depth, batch_size=128, max_train=args.max_train, threads=1, progress=False,
                       seed=0, device="cpu")

    def cfg(name: str, **kw) -> TrainConfig:
        return TrainConfig(**{**base.to_dict(), "out": str(out / name), **kw})

    init6, init = str(out / "float_relu6" / "checkpoint.pt"), str(out / "float_relu" / "checkpoint.pt")
    int8pc = dict(scheme="int8", per_channel=True)
    rows = [
        ("float_relu6", cfg("float_relu6", mode="float", epochs=args.float_epochs)),
        ("ptq_w8a8", cfg("ptq_w8a8", mode="ptq", epochs=0, init=init6)),
        ("qat_w8a8", cfg("qat_w8a8", mode="qat", epochs=args.qat_epochs, init=init6, lr=5e-4)),
        ("ptq_w4a8", cfg("ptq_w4a8", mode="ptq", epochs=0, init=init6, weight_bits=4)),
        ("qat_w4a8", cfg("qat_w4a8", mode="qat", epochs=args.qat_epochs, init=init6, lr=5e-4, weight_bits=4)),
        ("float_relu", cfg("float_relu", mode="float", epochs=args.float_epochs, activation="relu")),
        ("ptq_w8a8_relu", cfg("ptq_w8a8_relu", mode="ptq", epochs=0, init=init, activation="relu")),
        ("qat_w8a8_relu", cfg("qat_w8a8_relu", mode="qat", epochs=args.qat_epochs, init=init, lr=5e-4,
                              activation="relu")),
        # TFLite's int8 spec with per-channel symmetric weights, from the same ReLU6 float model
        ("ptq_w8a8_int8pc", cfg("ptq_w8a8_int8pc", mode="ptq", epochs=0, init=init6, **int8pc)),
        ("ptq_w4a8_int8pc", cfg("ptq_w4a8_int8pc", mode="ptq", epochs=0, init=init6, weight_bits=4, **int8pc)),
        ("qat_w4a8_int8pc", cfg("qat_w4a8_int8pc", mode="qat", epochs=args.qat_epochs, init=init6, lr=5e-4,
                                weight_bits=4, **int8pc)),
    ]
    results = {}
    for name, c in rows:
        if args.only and name not in args.only:
            continue
        print(f"== {name}\n   {command(c)}", flush=True)
        t0 = time.perf_counter()
        m = train(c)
        m["seconds"] = time.perf_counter() - t0
        m["command"] = command(c)
        results[name] = {k: v for k, v in m.items() if k not in ("config", "observer_ranges")}
        shown = {k: round(v, 2) if isinstance(v, float) else v for k, v in results[name].items()
                 if k in ("float_accuracy", "fake_quant_accuracy", "int_accuracy", "int_vs_fake_quant_agreement",
                          "seconds")}
        print(f"   {shown}", flush=True)
        out.mkdir(parents=True, exist_ok=True)
        (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n| run | float % | fake-quant % | int8 (intq) % | int vs fake-quant % |\n|---|---:|---:|---:|---:|")
    for name, r in results.items():
        f = lambda k: f"{r[k]:.2f}" if k in r else "-"  # noqa: E731
        print(f"| {name} | {f('float_accuracy')} | {f('fake_quant_accuracy')} | {f('int_accuracy')} | "
              f"{f('int_vs_fake_quant_agreement')} |")


if __name__ == "__main__":
    main()
