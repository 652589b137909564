"""Interval arithmetic on (start, end) pairs in seconds: sorted, non-overlapping lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["Interval", "clip", "complement", "intersect", "subtract", "total", "union"]

Interval = tuple[float, float]


def union(*groups: Iterable[Interval]) -> list[Interval]:
    """Merge all intervals of all groups (touching ones join)."""
    items = sorted((a, b) for g in groups for a, b in g if b > a)
    out: list[Interval] = []
    for a, b in items:
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    """Where both sorted, merged lists hold."""
    out: list[Interval] = []
    i = j = 0
    while i < len(xs) and j < len(ys):
        a = max(xs[i][0], ys[j][0])
        b = min(xs[i][1], ys[j][1])
        if b > a:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def complement(xs: Sequence[Interval], start: float, end: float) -> list[Interval]:
    """The gaps of a merged list within [start, end]."""
    out: list[Interval] = []
    cur = start
    for a, b in xs:
        if b <= cur:
            continue
        if a >= end:
            break
        if a > cur:
            out.append((cur, a))
        cur = max(cur, b)
    if cur < end:
        out.append((cur, end))
    return out


def subtract(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    """``xs`` with every part covered by ``ys`` removed."""
    if not xs:
        return []
    lo = min(a for a, _ in xs)
    hi = max(b for _, b in xs)
    return intersect(union(xs), complement(union(ys), lo, hi))


def clip(xs: Sequence[Interval], start: float, end: float) -> list[Interval]:
    return intersect(union(xs), [(start, end)]) if end > start else []


def total(xs: Iterable[Interval]) -> float:
    return sum(b - a for a, b in xs)
