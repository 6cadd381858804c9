"""The floors of the package (ARCHITECTURE.md): a module imports only from its own floor or the floors below,
so the data flows one way. A test, not a convention, so a change that reaches up fails here."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FLOORS = [
    {"errors", "lazy", "log", "io", "config", "device", "native", "state_file", "legacy", "memory", "losses",
     "shipped", "progress", "distributed"},
    {"rnn", "text", "training"},
    {"embeddings", "metrics", "vision", "generative", "rl"},
    {"seq2seq", "sentiment"},
    {"cli"},
]
# ``python -m seqlab.sentiment.pretrain`` is kept as a thin alias of the ``seqlab sentiment pretrain`` command
ALLOWED_UP = {("seqlab.sentiment.pretrain", "seqlab.cli.sentiment")}


def floor_of(module: str) -> int:
    part = module.split(".")[1] if module.count(".") else ""
    return next((i for i, names in enumerate(FLOORS) if part in names), 0)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("seqlab."):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("seqlab.")}
    return found


def test_every_package_has_a_floor():
    packages = {p.name for p in (ROOT / "seqlab").iterdir() if (p / "__init__.py").exists() or p.suffix == ".py"}
    named = set().union(*FLOORS) | {"__init__.py", "py.typed", "data", "configs"}
    assert {p.removesuffix(".py") for p in packages} <= named | {"__init__"}


def test_no_module_imports_from_a_floor_above_its_own():
    wrong = []
    for path in sorted((ROOT / "seqlab").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for target in imports(path):
            if floor_of(target) > floor_of(module) and (module, target) not in ALLOWED_UP:
                wrong.append(f"{module} -> {target}")
    assert not wrong, wrong
