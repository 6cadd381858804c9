"""Errors a user can cause and fix.

The library raises these with a message that names the file, line or word and says what to do;
the CLI prints the message on one line and exits with status 2. Anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations


class SeqlabError(Exception):
    """Base class of every user-facing error in seqlab."""

    exit_code = 2


class DataError(SeqlabError):
    """A data file is missing, unreadable, empty or malformed."""


class ConfigError(SeqlabError):
    """A configuration file or option is invalid."""


class UnknownWordError(SeqlabError, KeyError):
    """A query word is not in the vocabulary."""

    def __init__(self, word: str, where: str = "the vocabulary") -> None:
        self.word = word
        super().__init__(f"word {word!r} is not in {where}")

    def __str__(self) -> str:  # KeyError would quote the message again
        return self.args[0]


class DivergedError(SeqlabError):
    """Training produced a non-finite loss or weights; nothing from that point on was saved."""
