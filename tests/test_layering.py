"""The package's import rules (data flows scheme -> ir -> runtime / io; qat -> conversion; cli on top)."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "intq"

# layer -> intq subpackages it may import (besides itself and intq.errors)
ALLOWED = {
    "scheme": set(),
    "ir": {"scheme"},
    "runtime": {"ir", "scheme"},
    "io": {"ir", "scheme"},
    "qat": {"scheme"},
    "conversion": {"qat", "ir", "scheme"},
    "data": set(),
    "models": set(),
    "train": {"qat", "conversion", "ir", "scheme", "runtime", "io", "models", "data"},
    "cli": {"qat", "conversion", "ir", "scheme", "runtime", "io", "models", "data", "train"},
}
TORCH_FREE = ("scheme", "ir", "runtime", "io", "data")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG).parts
        if len(parts) > 1 and parts[0] in ALLOWED:
            yield parts[0], path


@pytest.mark.parametrize("layer,path", list(_modules()), ids=lambda v: str(v).split("intq/")[-1])
def test_imports_follow_layers(layer, path):
    for name in _imports(path):
        top = name.split(".")
        if top[0] == "intq" and len(top) > 1 and top[1] not in (layer, "errors"):
            assert top[1] in ALLOWED[layer], f"{path.name} ({layer}) imports {name}"
        if layer in TORCH_FREE:
            assert top[0] != "torch", f"{path.name} ({layer}) imports torch"


def test_reference_kernels_never_import_fast():
    for path in (PKG / "runtime" / "reference").rglob("*.py"):
        assert not any(n.startswith("intq.runtime.fast") for n in _imports(path)), path.name


def test_runtime_runs_without_torch():
    code = ("import sys, intq, intq.runtime, intq.io, intq.runtime.reference, intq.runtime.fast;"
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
