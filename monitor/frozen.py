"""A faster ``__init__`` for frozen, slotted dataclasses on the hot path.

``@dataclass(frozen=True, slots=True)`` writes each field with
``object.__setattr__(self, name, value)``: a global lookup, an attribute lookup and a generic
setattr that searches the type for the slot, once per field. Events, channel snapshots and
call records are built once per AMI event, so that cost is a large part of ingest. ``fast_init``
replaces the generated ``__init__`` by one that stores each field through its slot descriptor
(``member.__set__``), bound once per class. Everything else the dataclass made stays as it was:
the signature (order, defaults, ``kw_only``), ``default_factory``, ``__post_init__``, frozen
``__setattr__``/``__delattr__``, ``__eq__``, ``__hash__``, ``__repr__``, ``replace()``, pickling.

Call it on the class right after its definition (as a decorator it works too, but mypyc then
compiles the class as a plain Python class instead of a native one)::

    @dataclass(frozen=True, slots=True)
    class ChannelRef: ...

    fast_init(ChannelRef)

It accepts classes compiled by mypyc (docs/decisions/0007-mypyc-hot-path.md): their fields are
native attributes (getset descriptors, not slots) and their ``__init__`` is still the one the
dataclass decorator wrote, so the gain is the same. It also gives the class a ``__reduce__``
that rebuilds through the same descriptors: pickling a frozen mypyc class would otherwise go
through the frozen ``__setattr__`` and fail (the audio worker processes pickle results).

With the optional C step ``monitor._frozen`` (built with the package, off when
``RINGWATCH_PURE_PYTHON`` is set), a call of the class does the same stores in C instead of
running that ``__init__`` in an interpreter frame: about a fifth of the cost. Only calls whose
arguments bind go that way; any other call runs the Python ``__init__`` and gets its
``TypeError``. ``ACCELERATED`` says whether the C step is in use.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from types import GetSetDescriptorType, MemberDescriptorType, ModuleType
from typing import Any, TypeVar

__all__ = ["ACCELERATED", "fast_init", "replacer"]

T = TypeVar("T")

_NO_VALUE: Any = type("_NoValue", (), {"__repr__": lambda self: "<no value>"})()


def _load_c_step() -> ModuleType | None:
    if os.environ.get("RINGWATCH_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from monitor import _frozen
    except ImportError:
        return None
    return _frozen


_C = _load_c_step()
_INSTALL = None if _C is None else _C.install
ACCELERATED = _INSTALL is not None


def fast_init(cls: type[T]) -> type[T]:
    """Give the frozen slotted dataclass ``cls`` an ``__init__`` that sets slots directly."""
    if not is_dataclass(cls) or not all(
        isinstance(cls.__dict__.get(f.name, getattr(cls, f.name, None)), _FIELD_DESCRIPTORS)
        for f in fields(cls)
    ):
        raise TypeError(f"fast_init needs a dataclass with slots=True, not {cls!r}")
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    if not params.frozen:
        raise TypeError(f"fast_init is for frozen dataclasses: {cls.__qualname__}")
    ns: dict[str, Any] = {"_NO_VALUE": _NO_VALUE}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    # the same stores for the C step: (descriptor, field's parameter or None, has a default,
    # the default, the default factory or None), in field order
    steps: list[tuple[Any, str | None, bool, Any, Any]] = []
    for f in fields(cls):
        ns[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        has_default = f.default is not MISSING
        factory = None if f.default_factory is MISSING else f.default_factory
        steps.append((getattr(cls, f.name), f.name if f.init else None, has_default,
                      f.default if has_default else None, factory))  # fmt: skip
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
        if len(inspect.signature(post_init).parameters) > 1:  # InitVar fields
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
    setattr(cls, "__reduce__", _reduce)  # noqa: B010
    if _INSTALL is not None:
        # interned, as the names compiled code and the interpreter pass as keywords
        names = [sys.intern(p.split("=", 1)[0]) for p in (*positional, *keyword)]
        index = {name: i for i, name in enumerate(names)}
        _INSTALL(
            cls,
            init,
            tuple(names),
            len(positional),
            tuple((d, -1 if p is None else index[p], has, v, fac) for d, p, has, v, fac in steps),
            post_init is not None,
        )
    return cls


_FIELD_DESCRIPTORS = (MemberDescriptorType, GetSetDescriptorType)


def _reduce(self: Any) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """Pickle as (class, field values); subclasses inherit it and pickle their own fields."""
    kind = type(self)
    values = None if _C is None else _C.field_values(self)  # the C step reads them faster
    if values is None:
        values = tuple(getattr(self, f.name) for f in fields(kind))
    return _rebuild, (kind, values)


def _rebuild(cls: type[T], values: tuple[Any, ...]) -> T:
    """Unpickle a ``fast_init`` class: store each field through its descriptor (a frozen
    class's own ``__setattr__`` refuses)."""
    if _C is not None:
        built: T | None = _C.rebuild(cls, values)
        if built is not None:
            return built
    obj = cls.__new__(cls)
    for f, value in zip(fields(cls), values, strict=True):  # type: ignore[arg-type]
        getattr(cls, f.name).__set__(obj, value)
    return obj


def replacer(cls: type[T], *names: str) -> Callable[..., T]:
    """A function ``(obj, *values) -> cls``: the same as
    ``dataclasses.replace(obj, **dict(zip(names, values)))`` (through ``__init__``, so
    ``__post_init__`` and defaults behave alike), written out for ``cls``'s fields once instead
    of looking them up on every call (``replace`` reads ``fields()`` and builds a dict each time).
    """
    if not is_dataclass(cls):
        raise TypeError(f"replacer needs a dataclass, not {cls!r}")
    init = [f for f in fields(cls) if f.init]
    known = {f.name for f in init}
    if known & {"obj", "_cls"}:
        raise TypeError(f"replacer: {cls.__qualname__} has a field named obj or _cls")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise TypeError(f"{cls.__qualname__} has no init field {', '.join(unknown)}")
    value = {f.name: f.name if f.name in names else f"obj.{f.name}" for f in init}
    args = [value[f.name] for f in init if not f.kw_only]
    args += [f"{f.name}={value[f.name]}" for f in init if f.kw_only]
    source = f"def replace(obj, {', '.join(names)}):\n    return _cls({', '.join(args)})"
    ns: dict[str, Any] = {"_cls": cls}
    exec(source, ns)
    fn: Callable[..., T] = ns["replace"]
    fn.__qualname__ = f"replacer({cls.__qualname__}, {', '.join(map(repr, names))})"
    return fn
