"""prepare_qat (torch.fx rewrite of a float model) and calibrate (PTQ baseline). Imports: torch, intq.qat."""
from __future__ import annotations

import copy
from typing import Iterable

import torch
import torch.fx as fx

from intq.errors import InputError, IntqError, UnsupportedOpError
from intq.qat.config import QatConfig
from intq.qat.observers import ActQuant
from intq.qat.rewrite import (check_layer_inputs, check_shared_layers, fuse_adds, fuse_layers, fuse_pools,
                              link_quantizers, place_quantizers)
from intq.qat.switches import freeze_bn


def _as_tuple(example_inputs) -> tuple:
    return tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (example_inputs,)


class _ShapeRecorder(fx.Interpreter):
    """Runs a GraphModule and stores each tensor value's shape as ``node.meta['intq_shape']``."""

    def run_node(self, n: fx.Node):
        result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            n.meta["intq_shape"] = tuple(result.shape)
        return result


@torch.no_grad()
def _record_shapes(gm: fx.GraphModule, example: tuple) -> None:
    """Every fx value's shape from one eval-mode forward of ``example`` (BN running statistics untouched).

    The inputs move to the parameters' device. A model that does not run on them raises InputError.
    """
    first = next(iter(gm.parameters()), None)
    args = [t.to(first.device) if first is not None and isinstance(t, torch.Tensor) else t for t in example]
    was_training = gm.training
    gm.eval()
    try:
        _ShapeRecorder(gm).run(*args)
    except IntqError:
        raise
    except Exception as e:
        shapes = [tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__ for t in example]
        raise InputError(f"prepare_qat: the model does not run on example_inputs of shapes {shapes}: "
                         f"{type(e).__name__}: {(str(e).splitlines() or [''])[0]}") from e
    finally:
        gm.train(was_training)


def prepare_qat(model: torch.nn.Module, example_inputs, config: QatConfig | None = None) -> fx.GraphModule:
    """A trainable torch.fx GraphModule simulating the uint8 integer graph (paper §3; notes B.2, B.6).

    The float ``model`` is deep-copied (left untouched) and traced; Conv2d(+BatchNorm2d)(+ReLU/ReLU6/
    Hardtanh(0, 6)) and Linear(+ReLU/ReLU6) become QConv2d / QLinear (BN folded, weights fake-quantized)
    and ActQuant modules are placed as described in intq.qat.rewrite. ``example_inputs`` (tensor or
    tuple) runs once through the traced model (eval mode, no gradient) to check layer input shapes, and fixes
    the input shapes recorded for intq.convert. The result keeps ``model``'s train/eval mode.
    """
    cfg = config if config is not None else QatConfig()
    if not isinstance(cfg, QatConfig):
        raise TypeError(f"config must be an intq.QatConfig, got {type(cfg).__name__}")
    float_model = copy.deepcopy(model)
    try:
        gm = fx.symbolic_trace(float_model)
    except IntqError:
        raise
    except Exception as e:  # fx raises many kinds for untraceable code
        raise UnsupportedOpError(type(model).__name__, "torch.fx trace", f"model is not fx-traceable: {e}") from e
    check_shared_layers(gm)
    _record_shapes(gm, _as_tuple(example_inputs))
    check_layer_inputs(gm)
    fuse_layers(gm, cfg)
    fuse_pools(gm)
    fuse_adds(gm)
    place_quantizers(gm, cfg)
    gm.graph.eliminate_dead_code()
    gm.delete_all_unused_submodules()
    gm.graph.lint()
    gm.recompile()
    link_quantizers(gm)
    gm.intq_config = cfg
    gm.intq_input_shapes = [tuple(t.shape) for t in _as_tuple(example_inputs)]
    gm.train(model.training)
    return gm


def _batch_inputs(batch) -> tuple:
    if isinstance(batch, torch.Tensor):
        return (batch,)
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
        return (batch[0],)  # (inputs, labels) as a DataLoader gives
    raise TypeError("calibrate: each batch must be a tensor or an (inputs, labels) tuple")


@torch.no_grad()
def calibrate(model: torch.nn.Module, batches: Iterable, method: str = "ema",
              config: QatConfig | None = None) -> fx.GraphModule:
    """Post-training calibration of activation ranges; returns an eval-mode module ready for intq.convert.

    ``model``: a float nn.Module (prepared here in PTQ mode: BN folded with its running statistics from the
    start, weights quantized with last-value min/max) or a module from prepare_qat (calibrated in place).
    Batches run in eval mode (dropout off, BN on running statistics) with every observer on:
    ``method="ema"`` updates ranges with the config's EMA decay (first batch initialises), ``"minmax"``
    keeps the running min / max over all batches. Needs at least one batch.
    """
    if method not in ("ema", "minmax"):
        raise ValueError(f"calibrate: method must be 'ema' or 'minmax', got {method!r}")
    batches = iter(batches)
    try:
        first = _batch_inputs(next(batches))
    except StopIteration:
        raise ValueError("calibrate: needs at least one batch") from None
    if not any(isinstance(m, ActQuant) for m in model.modules()):
        model = prepare_qat(model.eval(), first, config)
    freeze_bn(model)
    model.eval()
    quants = [m for m in model.modules() if isinstance(m, ActQuant)]
    for m in quants:
        m.force_observe = True
        m.minmax_calibration = method == "minmax"
    try:
        model(*first)
        for batch in batches:
            model(*_batch_inputs(batch))
    finally:
        for m in quants:
            m.force_observe = False
            m.minmax_calibration = False
    return model
