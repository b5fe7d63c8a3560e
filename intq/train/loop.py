"""`intq train`: float / QAT / PTQ training of an intq model, DDP under torchrun, checkpoints, conversion.
Imports: torch, numpy, stdlib, intq.{qat, convert, io, models, data, train}."""
from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from intq.data import load_dataset, to_float
from intq.errors import IntqError
from intq.io.atomic import atomic_write
from intq.models import build_model
from intq.train import distributed as D
from intq.train.checkpoint import load_checkpoint, save_checkpoint
from intq.train.config import MODES, TrainConfig
from intq.train.evaluate import accuracy, agreement, int_predict, torch_predict

CHECKPOINT = "checkpoint.pt"


def seed_everything(seed: int) -> None:
    """Python, numpy and torch RNGs from one seed."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_model(cfg: TrainConfig, image_shape: tuple[int, int, int], num_classes: int) -> torch.nn.Module:
    """The float model for ``cfg`` on [N, C, H, W] images."""
    kwargs = dict(cfg.extra_model_args)
    if cfg.model.startswith("mobilenet"):
        kwargs.setdefault("width", cfg.width)
    if cfg.model == "mobilenet_v1" and cfg.depth is not None:
        kwargs.setdefault("depth", cfg.depth)
    c, h, _ = image_shape
    return build_model(cfg.model, c, num_classes, h, activation=cfg.activation, **kwargs)


def qat_config(cfg: TrainConfig):
    """The intq.QatConfig matching ``cfg``."""
    from intq.qat import QatConfig
    return QatConfig(weight_bits=cfg.weight_bits, activation_bits=cfg.activation_bits, quant_delay=cfg.quant_delay,
                     freeze_bn_delay=cfg.freeze_bn_delay, ema_decay=cfg.ema_decay, scheme=cfg.scheme,
                     per_channel=cfg.per_channel)


def _loader(x: np.ndarray, y: np.ndarray, cfg: TrainConfig, info: D.DistInfo):
    ds = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    # DistributedSampler also for one process: the shuffle is then a pure function of (seed, epoch).
    sampler = DistributedSampler(ds, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=cfg.seed,
                                 drop_last=True)
    return DataLoader(ds, batch_size=cfg.batch_size, sampler=sampler, drop_last=True), sampler


def _validate(cfg: TrainConfig) -> None:
    if cfg.mode not in MODES:
        raise IntqError(f"--mode must be one of {', '.join(MODES)}, got {cfg.mode!r}")
    if cfg.epochs < 0 or cfg.batch_size < 1:
        raise IntqError("--epochs must be >= 0 and --batch-size >= 1")


def train(cfg: TrainConfig) -> dict:
    """Train per ``cfg``; rank 0 writes checkpoint.pt, model.tflite (qat/ptq) and metrics.json into cfg.out.
    Returns the metrics dict (on every rank; only rank 0's has the evaluation numbers)."""
    _validate(cfg)
    info = D.setup(cfg.device)
    try:
        return _train(cfg, info)
    finally:
        D.teardown()


def _train(cfg: TrainConfig, info: D.DistInfo) -> dict:
    from tqdm import tqdm

    seed_everything(cfg.seed)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
    data = load_dataset(cfg.data, cfg.data_dir)
    x_train, y_train = to_float(data.train.images), data.train.labels
    x_test, y_test = to_float(data.test.images), data.test.labels
    if cfg.max_train is not None:
        x_train, y_train = x_train[: cfg.max_train], y_train[: cfg.max_train]
    if cfg.max_eval is not None:
        x_test, y_test = x_test[: cfg.max_eval], y_test[: cfg.max_eval]
    model = make_model(cfg, data.image_shape, data.num_classes)
    if cfg.init:
        load_checkpoint(cfg.init, model, restore_rng=False)
    example = torch.from_numpy(x_train[:2])
    if cfg.mode == "qat":
        from intq.qat import prepare_qat
        model = prepare_qat(model, example, qat_config(cfg))
    model.to(info.device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    start_epoch, step = 0, 0
    ckpt = out / CHECKPOINT
    if cfg.resume and ckpt.is_file():
        state = load_checkpoint(ckpt, model, opt)
        start_epoch, step = state["epoch"] + 1, state["step"]
    net = torch.nn.parallel.DistributedDataParallel(model) if info.enabled else model
    loader, sampler = _loader(x_train, y_train, cfg, info)
    loss_fn = torch.nn.CrossEntropyLoss()
    history, done = [], False
    for epoch in range(start_epoch, cfg.epochs):
        sampler.set_epoch(epoch)
        net.train()
        total, n = 0.0, 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not (cfg.progress and info.is_main),
                   leave=False)
        for xb, yb in bar:
            xb, yb = xb.to(info.device), yb.to(info.device)
            loss = loss_fn(net(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            total, n = total + loss.item() * len(yb), n + len(yb)
            bar.set_postfix(loss=f"{loss.item():.3f}")
            if cfg.max_steps is not None and step >= cfg.max_steps:
                done = True
                break
        history.append({"epoch": epoch, "step": step, "train_loss": total / max(n, 1)})
        if info.is_main:
            save_checkpoint(ckpt, model, opt, epoch, step, {"config": cfg.to_dict()})
        D.barrier()
        if done:
            break
    metrics = {"config": cfg.to_dict(), "world_size": info.world_size, "steps": step, "history": history}
    # every rank takes part in these all_reduces; observer ranges (min_val/max_val) only exist in QAT models.
    # BatchNorm running statistics are per rank (no SyncBatchNorm), as in torch DDP; rank 0's are exported.
    metrics["observer_ranges_identical_across_ranks"] = D.buffers_identical_across_ranks(model, ("min_val", "max_val"))
    metrics["observer_ranges"] = _observer_ranges(model)
    metrics["params_identical_across_ranks"] = _params_identical(model)
    model = model.cpu().eval()
    if cfg.mode == "ptq":
        from intq.qat import calibrate
        batches = [torch.from_numpy(x_train[i:i + cfg.batch_size])
                   for i in range(0, min(len(x_train), cfg.calib_batches * cfg.batch_size), cfg.batch_size)]
        model = calibrate(model, batches, config=qat_config(cfg))
    if info.is_main:
        metrics.update(_evaluate(model, cfg, x_test, y_test, out))
        atomic_write(out / "metrics.json", (json.dumps(metrics, indent=2, default=str) + "\n").encode())
    D.barrier()
    return metrics


def _observer_ranges(model: torch.nn.Module) -> dict:
    """{quantizer name: [min, max]} of every activation observer (empty for float models)."""
    bufs = dict(model.named_buffers())
    return {n[: -len(".min_val")]: [float(b), float(bufs[n[: -len("min_val")] + "max_val"])]
            for n, b in bufs.items() if n.endswith(".min_val") and n[: -len("min_val")] + "max_val" in bufs}


def _params_identical(model: torch.nn.Module) -> bool:
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return True
    vec = torch.cat([p.detach().double().flatten() for p in model.parameters()])
    lo, hi = vec.clone(), vec.clone()
    dist.all_reduce(lo, dist.ReduceOp.MIN)
    dist.all_reduce(hi, dist.ReduceOp.MAX)
    return bool(torch.equal(lo, vec) and torch.equal(hi, vec))


def _evaluate(model: torch.nn.Module, cfg: TrainConfig, x_test: np.ndarray, y_test: np.ndarray, out: Path) -> dict:
    """Test accuracy of the torch model and, for qat/ptq, of the converted integer graph; writes model.tflite."""
    res = {"test_images": int(len(y_test))}
    pred = torch_predict(model, x_test)
    key = "float_accuracy" if cfg.mode == "float" else "fake_quant_accuracy"
    res[key] = accuracy(pred, y_test)
    if cfg.mode == "float":
        return res
    from intq.conversion import convert
    from intq.io.tflite_export import save_tflite
    graph = convert(model)
    int_pred = int_predict(graph, x_test)
    res["int_accuracy"] = accuracy(int_pred, y_test)
    res["int_vs_fake_quant_agreement"] = agreement(int_pred, pred)
    save_tflite(graph, out / "model.tflite")
    res["tflite_bytes"] = (out / "model.tflite").stat().st_size
    res["float_bytes"] = int(sum(p.numel() * 4 for p in model.parameters()))
    return res
