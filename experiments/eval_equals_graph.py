"""Does a trained QAT checkpoint's eval forward equal its integer graph? (run on demand; CPU or CUDA)

    python experiments/eval_equals_graph.py CHECKPOINT [--device cuda] [--data mnist] [--data-dir DIR] [--images 2000]

CHECKPOINT is an `intq train --mode qat` checkpoint.pt (its config rebuilds the model). The prepared model runs
in eval mode on ``--device``; the converted graph runs in intq's Interpreter on the CPU; the script prints
whether the float32 logits are equal (np.array_equal), the top-1 agreement and the graph's accuracy.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import intq
from intq.data import load_dataset, to_float
from intq.qat import prepare_qat
from intq.train.config import TrainConfig
from intq.train.loop import make_model, qat_config


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--images", type=int, default=2000)
    a = ap.parse_args(argv)
    payload = torch.load(a.checkpoint, map_location="cpu", weights_only=False)
    saved = payload["extra"]["config"]
    cfg = TrainConfig(**{k: v for k, v in saved.items() if k in TrainConfig.__dataclass_fields__})
    ds = load_dataset(a.data, a.data_dir)
    x = to_float(ds.test.images[: a.images])
    model = prepare_qat(make_model(cfg, ds.image_shape, ds.num_classes), torch.from_numpy(x[:2]), qat_config(cfg))
    model.load_state_dict(payload["model"])
    model.eval()
    graph = intq.convert(model)
    model.to(a.device)
    t = time.perf_counter()
    with torch.no_grad():
        lf = torch.cat([model(torch.from_numpy(x[i:i + 500]).to(a.device)).cpu()
                        for i in range(0, len(x), 500)]).numpy()
    seconds = time.perf_counter() - t
    it = intq.Interpreter(graph)
    li = np.concatenate([it.run(np.ascontiguousarray(x[i:i + 500]))[0] for i in range(0, len(x), 500)])
    print(f"device {a.device}: eval forward {seconds:.2f} s for {len(x)} images; logits equal to the integer "
          f"graph: {np.array_equal(lf, li)}; max |diff| {np.abs(lf - li).max():.3g}; top-1 agreement "
          f"{(lf.argmax(1) == li.argmax(1)).mean() * 100:.2f} %; graph accuracy "
          f"{(li.argmax(1) == ds.test.labels[: a.images]).mean() * 100:.2f} %")


if __name__ == "__main__":
    main()
