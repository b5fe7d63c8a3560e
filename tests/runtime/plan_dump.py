"""Writes an Interpreter's one-call plan, with the memory it points at, to a file that
tests/runtime/csrc/replay_plan.c runs through intq_run_plan on another architecture (test_cross_arch.py).

    INTQ_ISA=portable python tests/runtime/plan_dump.py MODEL.tflite OUT.bin [--threads N]

Every int64 word of the kernel records that lies inside an array the plan keeps alive is written as (array,
offset), and so is every int64 inside a kept int64 array that does (address tables such as
CONCATENATION's); the arrays are written whole (constants with their bytes, activation buffers and workspace too), each
with its start's remainder modulo 64 so that the replay keeps every buffer's alignment. Then a random input
(seed 0: codes over the dtype's range, or standard normal floats) and the reference kernels' outputs for it. Format, little-endian: b"IQPD", int64 counts (arrays,
records, inner addresses, inputs, outputs); per array int64 size and start % 64, then its bytes; per record
16 x (int64 tag, int64 a, int64 b), tag 0 = the word a, tag 1 = array a + offset b; per inner address int64
array, byte offset, target array, target offset; per input and output int64 array, offset, size, then the
bytes (the input, or the expected output). Exits non-zero if a word looks like an address
(>= 2^32) but lies in no kept array.
"""
from __future__ import annotations

import argparse
import struct
import sys

import numpy as np

import intq
from intq.runtime.fast._lib import ISA_LEVEL, PLAN_WORDS


def _arrays(obj, seen: set, out: list) -> None:
    """Every ndarray reachable from obj through dicts, lists and tuples."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            _arrays(v, seen, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _arrays(v, seen, out)


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def dump(model: str, path: str, threads: int) -> None:
    g = intq.load_tflite(model)
    it = intq.Interpreter(g, num_threads=threads)
    shapes = [g.tensor(n).shape for n in g.inputs]
    rng = np.random.default_rng(0)
    xs = []
    for n, s in zip(g.inputs, shapes):
        dt = np.dtype(g.tensor(n).dtype)
        xs.append(rng.standard_normal(s).astype(dt) if dt.kind == "f" else
                  rng.integers(np.iinfo(dt).min, np.iinfo(dt).max + 1, s).astype(dt))
    it.run(*xs)
    plan = it._plan
    if plan is None:
        raise SystemExit(f"{model}: no plan")
    found: list = []
    _arrays([plan._keep, plan.inputs, plan.outputs, plan.workspace], set(), found)
    roots, spans = [], []
    for a in found:
        r = _root(a)
        start = r.__array_interface__["data"][0]
        if all(start != s for s, _ in spans):
            roots.append(r)
            spans.append((start, r.nbytes))

    def where(addr: int):
        for i, (s, n) in enumerate(spans):
            if s <= addr < s + max(n, 1):
                return i, addr - s
        return None

    recs = []
    for rec in plan.records:
        words = []
        for w in rec.tolist():
            hit = where(w) if w >= 1 << 32 else None
            if w >= 1 << 32 and hit is None:
                raise SystemExit(f"record word {w:#x} looks like an address but lies in no kept array")
            words.append((1, *hit) if hit else (0, w, 0))
        recs.append(words)
    inner = []                  # address tables inside the kept arrays (e.g. CONCATENATION's input pointers)
    for i, r in enumerate(roots):
        if r.dtype.itemsize == 8 and r.dtype.kind in "iu" and r.flags.c_contiguous:
            for k, w in enumerate(r.reshape(-1).view(np.int64).tolist()):
                hit = where(w) if w >= 1 << 32 else None
                if hit:
                    inner.append((i, 8 * k, *hit))
    want = intq.Interpreter(g, kernels="reference").run(*xs)
    parts = [b"IQPD", struct.pack("<5q", len(roots), len(recs), len(inner), len(xs), len(want))]
    for r, (s, n) in zip(roots, spans):
        parts += [struct.pack("<2q", n, s % 64), np.ascontiguousarray(r).view(np.uint8).tobytes()]
    for words in recs:
        parts += [struct.pack("<3q", *w) for w in words]
    parts += [struct.pack("<4q", *t) for t in inner]
    for bufs, vals in ((plan.inputs, xs), (plan.outputs, want)):
        for b, v in zip(bufs, vals):
            i, off = where(b.__array_interface__["data"][0])
            data = np.ascontiguousarray(v, b.dtype).tobytes()
            parts += [struct.pack("<3q", i, off, len(data)), data]
    with open(path, "wb") as f:
        f.write(b"".join(parts))
    print(f"{model}: {len(roots)} arrays, {len(recs)} records, level {ISA_LEVEL}, {threads} thread(s)")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    dump(a.model, a.out, a.threads)
    sys.exit(0)
