"""The embedded default task: normalise human-written dates to ISO 8601.

"3 may 1979", "tuesday 09/10/2001", "Dec 25, 1999" -> "1979-05-03", "2001-09-10", "1999-12-25".
This is the toy translation task of the attention literature (e.g. deeplearning.ai's sequence-model
course, after Bahdanau et al. 2015): character-level, learnt in minutes on a CPU, and the attention
weights show the model reading the day, month and year in the source. Data are generated from a
seed, so the project needs no download; US-style numeric dates read month first.
"""

from __future__ import annotations

import datetime as dt
import random
import re

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
FIRST = dt.date(1900, 1, 1).toordinal()
LAST = dt.date(2099, 12, 31).toordinal()


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _formats(d: dt.date) -> list[str]:
    month, mon = MONTHS[d.month - 1], MONTHS[d.month - 1][:3]
    day, dow = d.day, DAYS[d.weekday()]
    return [
        f"{day} {month} {d.year}", f"{day} {mon} {d.year}", f"{_ordinal(day)} {month} {d.year}",
        f"{_ordinal(day)} of {month} {d.year}", f"{month} {day}, {d.year}", f"{mon} {day}, {d.year}",
        f"{month} {_ordinal(day)}, {d.year}", f"{dow} {d.month:02d}/{d.day:02d}/{d.year}",
        f"{dow}, {month} {day}, {d.year}", f"{dow[:3]} {day} {mon} {d.year}", f"{d.month}/{d.day}/{d.year}",
        f"{d.month:02d}/{d.day:02d}/{d.year}", f"{d.day:02d}.{d.month:02d}.{d.year}",
        f"{d.year}-{d.month:02d}-{d.day:02d}", f"{d.year}/{d.month:02d}/{d.day:02d}", f"{day} {month}, {d.year}",
        f"{dow} {day} {month} {d.year}", f"{d.day:02d} {mon} {d.year}",
    ]


def random_date(rng: random.Random) -> dt.date:
    return dt.date.fromordinal(rng.randint(FIRST, LAST))


def make_pair(rng: random.Random) -> tuple[str, str]:
    """One (human-written, ISO) pair; the surface form is randomly cased like real input."""
    d = random_date(rng)
    text = rng.choice(_formats(d))
    case = rng.random()
    if case < 0.15:
        text = text.upper()
    elif case < 0.35:
        text = text.title()
    return text, d.isoformat()


def generate(n: int, seed: int) -> tuple[list[str], list[str]]:
    """``n`` (source, target) pairs from ``seed``; different seeds give (nearly) disjoint sets."""
    rng = random.Random(seed)
    pairs = [make_pair(rng) for _ in range(n)]
    return [s for s, _ in pairs], [t for _, t in pairs]


def held_out(n: int, seed: int, train_seed: int, train_size: int) -> tuple[list[str], list[str]]:
    """``n`` generated pairs (from ``seed``) whose source does not occur among the training pairs."""
    seen = set(generate(train_size, train_seed)[0])
    rng = random.Random(seed)
    src, tgt = [], []
    while len(src) < n:
        s, t = make_pair(rng)
        if s not in seen:
            seen.add(s)
            src.append(s)
            tgt.append(t)
    return src, tgt


DOUBT_SCORE = -0.02  # held-out dates score above -0.003 (length-normalised log-probability); non-dates below -0.04


def doubt(output: str, score: float, source: str | None = None) -> str | None:
    """Why the dates model's ``output`` (with its search ``score``) for the line ``source`` should not be
    trusted, or None: it is not a valid ISO date in 1900-2099, the line names a four-digit year that the
    output does not have (a year outside 1900-2099 cannot come out right), or the model was unsure (the
    input did not look like a date to it)."""
    try:
        valid = FIRST <= dt.date.fromisoformat(output).toordinal() <= LAST and len(output) == 10
    except ValueError:
        valid = False
    if not valid:
        return f"{output!r} is not a valid date: the line does not look like a date to the dates model"
    years = re.findall(r"(?<!\d)\d{4}(?!\d)", source or "")
    if years and output[:4] not in years:
        outside = [y for y in years if not 1900 <= int(y) <= 2099]
        why = (f"the dates model knows the years 1900-2099, not {outside[0]}" if outside
               else f"the line's year is {years[0]}")
        return f"{output} may be wrong: {why}"
    if score < DOUBT_SCORE:
        return f"the dates model is unsure ({output}, score {score:.3f}): the line does not look like a date to it"
    return None
