"""seqlab's warnings as standard logging records, still one plain line on stderr by default.

Library code reports a warning with :func:`warn`, which emits a WARNING record on the ``"seqlab"`` logger
(or a child, such as ``"seqlab.native"``) and, unless a handler is attached to that logger or one of its
parents up to ``"seqlab"``, prints the same line to stderr, exactly as seqlab printed its warnings before
logging (and as the command line shows them). So, with standard logging only:

- ``logging.getLogger("seqlab").setLevel(logging.ERROR)`` silences them (no record, no line);
- a handler added to ``logging.getLogger("seqlab")`` takes them over: the line is then no longer printed;
- records propagate as usual, so root handlers and pytest's ``caplog`` see them too. (A root handler,
  e.g. ``logging.basicConfig()``, does not turn the line off: give the ``"seqlab"`` logger a handler.)

The ``"seqlab"`` logger has a ``NullHandler``, as the logging HOWTO asks of libraries, so Python's "last
resort" handler never prints a record a second time. Progress reports (``log=`` callables) and tqdm bars
are not warnings and do not go through here.
"""

from __future__ import annotations

import logging
import sys

ROOT = "seqlab"

logging.getLogger(ROOT).addHandler(logging.NullHandler())


def get_logger(name: str = ROOT) -> logging.Logger:
    """The logger ``name`` (a module's ``__name__``, e.g. ``"seqlab.native"``), under ``"seqlab"``."""
    return logging.getLogger(name)


def warn(message: str, name: str = ROOT) -> None:
    """Emit ``message`` as a WARNING on the logger ``name`` (``"seqlab"`` or a child), and print it as one line on
    stderr unless a handler is attached between that logger and ``"seqlab"`` (see the module docstring)."""
    logger = logging.getLogger(name)
    if not logger.isEnabledFor(logging.WARNING):
        return
    logger.warning(message, stacklevel=2)
    if not _taken_over(logger):
        print(message, file=sys.stderr, flush=True)


def _taken_over(logger: logging.Logger) -> bool:
    """Whether a handler of the user's (not our NullHandler) is attached to ``logger`` or a parent up to
    ``"seqlab"`` (root's handlers do not count: pytest's capture sits there, and so does ``basicConfig``)."""
    current: logging.Logger | None = logger
    while current is not None and not isinstance(current, logging.RootLogger):
        if any(not isinstance(h, logging.NullHandler) for h in current.handlers):
            return True
        if current.name == ROOT or not current.propagate:
            return False
        current = current.parent
    return False
