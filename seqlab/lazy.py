"""Package front doors that import nothing until used (PEP 562).

A subpackage's ``__init__`` names its public API, submodule by submodule, and gets back its
``__all__``, a module ``__getattr__`` that imports a name's submodule on first use, and a ``__dir__``:

    __all__, __getattr__, __dir__ = lazy_exports(__name__, {"boxes": ["box_iou", "nms"], "yolo": ["decode"]})

so ``from seqlab.vision import box_iou`` works, ``dir()`` and ``from seqlab.vision import *`` see the
whole API, and ``import seqlab.vision.boxes`` (as the CLI does, to start fast) loads one module only.
A submodule is an attribute too (``seqlab.vision.boxes`` after ``import seqlab.vision``), as it was
when the front doors imported everything.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, Sequence[str]]
                 ) -> tuple[list[str], Callable[[str], Any], Callable[[], list[str]]]:
    """``(__all__, __getattr__, __dir__)`` for ``package``; ``exports`` maps a submodule, relative to the
    package (``"boxes"``, ``"architectures"``), to the public names it defines."""
    home: dict[str, str] = {}
    for module, names in exports.items():
        for name in names:
            if name in home:
                raise ValueError(f"{package}: {name!r} is exported by both {home[name]} and {module}")
            home[name] = module
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        if name not in home:
            if name.startswith("_") or importlib.util.find_spec(f"{package}.{name}") is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            return importlib.import_module(f"{package}.{name}")  # the import binds it in the namespace
        value = getattr(importlib.import_module(f"{package}.{home[name]}"), name)
        namespace[name] = value  # found once; later lookups do not come here
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(home))

    return list(home), __getattr__, __dir__
