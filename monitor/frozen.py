"""A faster ``__init__`` for frozen, slotted dataclasses on the hot path.

``@dataclass(frozen=True, slots=True)`` writes each field with
``object.__setattr__(self, name, value)``: a global lookup, an attribute lookup and a generic
setattr that searches the type for the slot, once per field. Events, channel snapshots and
call records are built once per AMI event, so that cost is a large part of ingest. ``fast_init``
replaces the generated ``__init__`` by one that stores each field through its slot descriptor
(``member.__set__``), bound once per class. Everything else the dataclass made stays as it was:
the signature (order, defaults, ``kw_only``), ``default_factory``, ``__post_init__``, frozen
``__setattr__``/``__delattr__``, ``__eq__``, ``__hash__``, ``__repr__``, ``replace()``, pickling.

Use it outermost::

    @fast_init
    @dataclass(frozen=True, slots=True)
    class ChannelRef: ...
"""

from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass
from typing import Any, TypeVar

__all__ = ["fast_init"]

T = TypeVar("T")

_NO_VALUE: Any = type("_NoValue", (), {"__repr__": lambda self: "<no value>"})()


def fast_init(cls: type[T]) -> type[T]:
    """Give the frozen slotted dataclass ``cls`` an ``__init__`` that sets slots directly."""
    if not is_dataclass(cls) or "__slots__" not in cls.__dict__:
        raise TypeError(f"fast_init needs a dataclass with slots=True, not {cls!r}")
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    if not params.frozen:
        raise TypeError(f"fast_init is for frozen dataclasses: {cls.__qualname__}")
    ns: dict[str, Any] = {"_NO_VALUE": _NO_VALUE}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in fields(cls):
        ns[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is not MISSING:
            ns[f"_default_{f.name}"] = f.default
        if f.default_factory is not MISSING:
            ns[f"_factory_{f.name}"] = f.default_factory
        if not f.init:
            if f.default_factory is not MISSING:
                body.append(f"    _set_{f.name}(self, _factory_{f.name}())")
            elif f.default is not MISSING:
                body.append(f"    _set_{f.name}(self, _default_{f.name})")
            continue
        if f.default is not MISSING:
            param = f"{f.name}=_default_{f.name}"
            body.append(f"    _set_{f.name}(self, {f.name})")
        elif f.default_factory is not MISSING:
            param = f"{f.name}=_NO_VALUE"
            body.append(
                f"    _set_{f.name}(self, _factory_{f.name}() "
                f"if {f.name} is _NO_VALUE else {f.name})"
            )
        else:
            param = f.name
            body.append(f"    _set_{f.name}(self, {f.name})")
        (keyword if f.kw_only else positional).append(param)
    post_init = getattr(cls, "__post_init__", None)
    if post_init is not None:
        if post_init.__code__.co_argcount > 1:  # InitVar fields: keep the dataclass __init__
            raise TypeError(f"fast_init does not support InitVar fields: {cls.__qualname__}")
        body.append("    self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}):\n" + ("\n".join(body) or "    pass")
    exec(source, ns)
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    setattr(cls, "__init__", init)  # noqa: B010 (mypy will not let a method be assigned)
    return cls
