"""Types of the optional C extension built from _frozen.c (see monitor/frozen.py)."""

from typing import Any

def install(
    cls: type,
    init: object,
    names: tuple[str, ...],
    npos: int,
    steps: tuple[tuple[Any, int, bool, Any, Any], ...],
    post_init: bool,
    /,
) -> bool: ...
def installed(cls: object, /) -> bool: ...
def field_values(obj: object, /) -> tuple[Any, ...] | None: ...
def rebuild(cls: type, values: tuple[Any, ...], /) -> Any: ...
