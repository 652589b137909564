"""Interval arithmetic on (start, end) pairs in seconds: sorted, non-overlapping lists.

A call has a few speech spans per second of talk, so an hour has thousands: the loops here
compare with ``if`` rather than ``max``/``min`` calls (same results, ties included), and
intersecting with a single interval (a talk window without holds) is one comprehension.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = ["Interval", "clip", "complement", "intersect", "subtract", "total", "union"]

Interval = tuple[float, float]


def union(*groups: Iterable[Interval]) -> list[Interval]:
    """Merge all intervals of all groups (touching ones join)."""
    items = sorted((a, b) for g in groups for a, b in g if b > a)
    out: list[Interval] = []
    if not items:
        return out
    cur_a, cur_b = items[0]
    for a, b in items:
        if a <= cur_b:
            if b > cur_b:
                cur_b = b
        else:
            out.append((cur_a, cur_b))
            cur_a, cur_b = a, b
    out.append((cur_a, cur_b))
    return out


def _within(xs: Sequence[Interval], lo: float, hi: float) -> list[Interval]:
    """``intersect(xs, [(lo, hi)])`` for a sorted, merged ``xs``."""
    # max(a, lo) is a unless lo > a; min(b, hi) is b unless hi < b (as the builtins break ties)
    return [
        (lo if lo > a else a, hi if hi < b else b)
        for a, b in xs
        if (hi if hi < b else b) > (lo if lo > a else a)
    ]


def intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    """Where both sorted, merged lists hold."""
    if len(ys) == 1:
        return _within(xs, ys[0][0], ys[0][1])
    out: list[Interval] = []
    i = j = 0
    nx, ny = len(xs), len(ys)
    while i < nx and j < ny:
        xa, xb = xs[i]
        ya, yb = ys[j]
        a = ya if ya > xa else xa
        b = yb if yb < xb else xb
        if b > a:
            out.append((a, b))
        if xb < yb:
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
        if b > cur:
            cur = b
    if cur < end:
        out.append((cur, end))
    return out


def subtract(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    """``xs`` with every part covered by ``ys`` removed."""
    if not xs:
        return []
    merged = union(xs)
    cut = union(ys)
    if not cut:
        return merged
    lo = min(a for a, _ in xs)
    hi = max(b for _, b in xs)
    return intersect(merged, complement(cut, lo, hi))


def clip(xs: Sequence[Interval], start: float, end: float) -> list[Interval]:
    return intersect(union(xs), [(start, end)]) if end > start else []


def total(xs: Iterable[Interval]) -> float:
    return sum(b - a for a, b in xs)
