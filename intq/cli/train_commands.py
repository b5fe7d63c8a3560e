"""`intq train` and `intq demo`: argparse -> TrainConfig / demo options. Imports: intq.train, intq.data, intq.models."""
from __future__ import annotations

import argparse
import json


def register(subparsers) -> None:
    """Add the ``train`` and ``demo`` subcommands."""
    from intq.data import DATASETS
    from intq.models import ACTIVATIONS, MODELS
    from intq.train.config import MODES, TrainConfig

    d = TrainConfig()
    p = subparsers.add_parser("train", help="train a float / QAT / PTQ model and convert it to an integer .tflite",
                              description="Train a model (DDP under torchrun), write checkpoint.pt, model.tflite, "
                                          "metrics.json into --out.")
    p.add_argument("--model", choices=sorted(MODELS), default=d.model)
    p.add_argument("--data", choices=DATASETS, default=d.data)
    p.add_argument("--data-dir", default=None, help="folder with the data set files (never downloaded)")
    p.add_argument("--mode", choices=MODES, default=d.mode)
    p.add_argument("--weight-bits", type=int, default=d.weight_bits)
    p.add_argument("--activation-bits", type=int, default=d.activation_bits)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--quant-delay", type=int, default=d.quant_delay, help="training steps before quantizing activations")
    p.add_argument("--freeze-bn-delay", type=int, default=None, help="step after which BN uses moving statistics")
    p.add_argument("--ema-decay", type=float, default=d.ema_decay)
    p.add_argument("--scheme", choices=("uint8", "int8"), default=d.scheme,
                   help="uint8: the paper's scheme; int8: TFLite's int8 spec (symmetric int8 weights)")
    p.add_argument("--per-channel", action="store_true", help="int8 scheme: per-output-channel weight scales")
    p.add_argument("--activation", choices=ACTIVATIONS, default=d.activation)
    p.add_argument("--width", type=float, default=d.width, help="MobileNet width multiplier")
    p.add_argument("--depth", type=int, default=None, help="MobileNet v1 blocks kept (1..13)")
    p.add_argument("--init", default=None, help="float checkpoint.pt to start from (QAT fine-tuning, PTQ)")
    p.add_argument("--calib-batches", type=int, default=d.calib_batches)
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--max-eval", type=int, default=None, help="evaluate on the first N test images only")
    p.add_argument("--max-train", type=int, default=None, help="train on the first N training images only")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--out", default=d.out)
    p.add_argument("--resume", action="store_true", help="continue from --out/checkpoint.pt")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_train)

    q = subparsers.add_parser("demo", help="float vs PTQ vs QAT on the embedded digits data, end to end",
                              description="Train float + QAT, calibrate PTQ, convert, run integer-only inference, "
                                          "print a table and write model.tflite, report.md, report.png.")
    q.add_argument("--out", default="intq-demo-out")
    q.add_argument("--epochs", type=int, default=None, help="float epochs (default: the demo's own)")
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=_demo)


def _train(args: argparse.Namespace) -> int:
    from intq.train import TrainConfig, train

    cfg = TrainConfig(model=args.model, data=args.data, data_dir=args.data_dir, mode=args.mode, out=args.out,
                      epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_bits=args.weight_bits,
                      activation_bits=args.activation_bits, quant_delay=args.quant_delay,
                      freeze_bn_delay=args.freeze_bn_delay, ema_decay=args.ema_decay, scheme=args.scheme,
                      per_channel=args.per_channel, activation=args.activation,
                      width=args.width, depth=args.depth, init=args.init, calib_batches=args.calib_batches,
                      max_steps=args.max_steps, max_eval=args.max_eval, max_train=args.max_train, seed=args.seed, resume=args.resume,
                      device=args.device, threads=args.threads, progress=not args.no_progress)
    metrics = train(cfg)
    if "test_images" in metrics:
        shown = {k: v for k, v in metrics.items() if k not in ("config", "history", "observer_ranges")}
        print(json.dumps(shown, indent=2))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from intq.train.demo import DemoConfig, run_demo

    cfg = DemoConfig(out=args.out, seed=args.seed)
    if args.epochs is not None:
        cfg.float_epochs = args.epochs
    run_demo(cfg)
    return 0
