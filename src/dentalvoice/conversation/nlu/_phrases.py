"""Phrase tables: many small regexes matched fast by first checking a literal each one needs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Generic, TypeVar

L = TypeVar("L")

_LITERAL = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 '-")
_MIN_ANCHOR = 3


def anchor(pattern: str) -> str | None:
    """The longest literal text every match of `pattern` must contain.

    Args:
        pattern: A regular expression.

    Returns:
        That literal (at least three characters), or None when the pattern has no such part,
        e.g. when it starts with a group of alternatives or has a top-level "|".
    """
    runs: list[str] = []
    run = ""
    depth = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        nxt = pattern[i + 1] if i + 1 < len(pattern) else ""
        if ch == "\\":
            runs.append(run)
            run = ""
            i += 2
            continue
        if ch == "[":
            runs.append(run)
            run = ""
            i = pattern.find("]", i + 2) + 1 or len(pattern)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return None
        if depth == 0 and ch in _LITERAL:
            if nxt in ("?", "*", "{"):
                # An optional character ends the required text before it.
                runs.append(run)
                run = ""
            else:
                run += ch
                if nxt == "+":
                    runs.append(run)
                    run = ""
        else:
            runs.append(run)
            run = ""
        i += 1
    runs.append(run)
    best = max((r.strip() for r in runs), key=len, default="")
    return best if len(best) >= _MIN_ANCHOR else None


class PhraseTable(Generic[L]):
    """Labelled patterns; each is tried only when its required literal is in the text."""

    def __init__(self, entries: Iterable[tuple[str, L]], *, head: str, tail: str) -> None:
        """Compile the table.

        Args:
            entries: (pattern, label) pairs; patterns are regexes on normalised text.
            head: What must precede every pattern, e.g. a word boundary.
            tail: What must follow every pattern, e.g. an optional plural and a boundary.
        """
        self._anchored: list[tuple[str, re.Pattern[str], L]] = []
        loose: list[tuple[str, L]] = []
        for pattern, label in entries:
            literal = anchor(pattern)
            if literal is None:
                loose.append((pattern, label))
            else:
                self._anchored.append((literal, re.compile(f"{head}(?:{pattern}){tail}"), label))
        # Patterns with no required literal share one alternation, tried on every text.
        self._loose_labels = {f"g{i}": label for i, (_, label) in enumerate(loose)}
        # The template's opening (a word boundary) is tested once per position, not once per
        # pattern, which is what makes this alternation cheap.
        body = "|".join(f"(?P<g{i}>(?:{p}){tail})" for i, (p, _) in enumerate(loose))
        self._loose = re.compile(f"{head}(?:{body})") if loose else None

    def find(self, norm: str, *, overlapping: bool = False) -> list[tuple[L, int, int]]:
        """Every match in `norm`, leftmost first; overlapping ones keep the longest.

        Args:
            norm: Normalised text.
            overlapping: Keep matches that overlap (each label is then heard on its own).

        Returns:
            (label, start, end) triples.
        """
        hits: list[tuple[int, int, L]] = []
        for literal, pattern, label in self._anchored:
            if literal in norm:
                hits.extend((m.start(), m.end(), label) for m in pattern.finditer(norm))
        if self._loose is not None:
            for m in self._loose.finditer(norm):
                hits.append((m.start(), m.end(), self._loose_labels[m.lastgroup or ""]))
        hits.sort(key=lambda h: (h[0], h[0] - h[1]))
        if overlapping:
            return [(label, start, end) for start, end, label in hits]
        kept: list[tuple[L, int, int]] = []
        reached = -1
        for start, end, label in hits:
            if start >= reached:
                kept.append((label, start, end))
                reached = end
        return kept
