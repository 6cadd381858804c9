"""The package's metadata (issue 27): every module the code needs is a declared dependency, the version is
written once, and the 1 GB triton is an extra of its own that CI still installs."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

import seqlab

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
# Imported at the top of a module that is itself only imported once the extra is known to be there
# (seqlab.rnn.kernels imports pointwise after kernels.available()): module -> the extra that declares it.
EXTRA_ONLY = {"triton": "triton"}


def _name(requirement: str) -> str:
    """The canonical distribution name of a requirement (``scikit-learn>=1.3`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()


def _guarded(node: ast.Try) -> bool:
    """Whether a try statement catches ImportError (so what it imports is optional)."""
    def names(handler: ast.ExceptHandler) -> set[str]:
        kind = handler.type
        items = kind.elts if isinstance(kind, ast.Tuple) else [kind] if kind is not None else []
        return {item.id for item in items if isinstance(item, ast.Name)} | ({"*"} if kind is None else set())
    return any(names(h) & {"ImportError", "ModuleNotFoundError", "Exception", "*"} for h in node.handlers)


def required_imports() -> dict[str, str]:
    """Third-party top-level modules that seqlab/ and cli/ import without checking first, each with one file
    that imports it. Optional ones are imported in a ``try: ... except ImportError`` first, in that file
    (``matplotlib``, then ``matplotlib.pyplot``)."""
    unchecked: dict[tuple[str, str], bool] = {}  # (module, file) -> imported outside a try in that file

    def visit(node: ast.AST, path: str, optional: bool) -> None:
        if isinstance(node, ast.Try) and _guarded(node):
            for child in node.body:
                visit(child, path, True)
            for child in [*node.handlers, *node.orelse, *node.finalbody]:
                visit(child, path, optional)
            return
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top != "seqlab":
                unchecked[top, path] = unchecked.get((top, path), True) and not optional
        for child in ast.iter_child_nodes(node):
            visit(child, path, optional)

    for folder in ("seqlab", "cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            visit(ast.parse(path.read_text(encoding="utf-8")), str(path.relative_to(ROOT)), False)
    found: dict[str, str] = {}
    for (module, path), always in unchecked.items():
        if always:
            found.setdefault(module, path)
    return found


def test_every_module_the_code_needs_is_a_declared_dependency():
    declared = {_name(r) for r in PROJECT["dependencies"]}
    extras = {extra: {_name(r) for r in reqs} for extra, reqs in PROJECT["optional-dependencies"].items()}
    distributions = packages_distributions()
    undeclared = []
    for module, where in required_imports().items():
        names = {_name(d) for d in distributions.get(module, [])} or {_name(module)}
        wanted = extras[EXTRA_ONLY[module]] if module in EXTRA_ONLY else declared
        if not names & wanted:
            undeclared.append(f"{module} (imported by {where}; distribution {', '.join(sorted(names))})")
    assert not undeclared, undeclared


def test_scipy_is_declared_without_an_upper_pin():
    scipy = [r for r in PROJECT["dependencies"] if _name(r) == "scipy"]
    assert len(scipy) == 1 and ">=" in scipy[0] and "<" not in scipy[0].replace("<=", "")


def test_the_version_is_written_once_in_seqlab_init():
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "seqlab.__version__"}
    literal = re.compile(r"""^\s*version\s*=\s*["']""", re.MULTILINE)
    assert not literal.search((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert re.fullmatch(r"\d+\.\d+\.\d+(\S*)", seqlab.__version__)


def test_setuptools_reads_the_version_without_importing_seqlab():
    """What ``pip install`` builds with: setuptools reads ``__version__`` from seqlab/__init__.py's source
    (a plain literal there, found without running the module), and gets the one seqlab reports. The module
    imports nothing but the standard-library-only lazy front door, so even running it needs no dependency."""
    pyprojecttoml = pytest.importorskip("setuptools.config.pyprojecttoml")
    config = pyprojecttoml.read_configuration(ROOT / "pyproject.toml")
    assert config["project"]["version"] == seqlab.__version__
    init = ast.parse((ROOT / "seqlab" / "__init__.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(init) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"seqlab.lazy"} and not [node for node in ast.walk(init) if isinstance(node, ast.Import)]
    lazy = ast.parse((ROOT / "seqlab" / "lazy.py").read_text(encoding="utf-8"))
    assert {alias.name.split(".")[0] for node in ast.walk(lazy) if isinstance(node, ast.Import)
            for alias in node.names} <= {"importlib", "sys"}


@pytest.mark.parametrize("extra,package", [("triton", "triton"), ("wmd", "pot")])
def test_large_optional_libraries_are_extras_of_their_own_and_ci_installs_them(extra, package):
    """triton (about 1 GB) and POT (about 170 MB) stay out of the README's test install; CI adds them."""
    extras = PROJECT["optional-dependencies"]
    assert [_name(r) for r in extras[extra]] == [package]
    assert all(package not in {_name(r) for r in reqs} for name, reqs in extras.items() if name != extra)
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    tests = next(i for i, line in enumerate(ci) if "pytest" in line and not line.startswith("#"))
    pattern = rf"pip install .*-e '\.\[([\w,]*,)?{extra}(,[\w,]*)?\]'"
    assert any(re.search(pattern, line) for line in ci[:tests])
