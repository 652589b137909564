"""monitor.frozen.fast_init: the faster __init__ builds exactly what the dataclass one builds."""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError, dataclass, field, fields, replace

import pytest

from monitor import events as ev
from monitor.channel import ChannelRef, ChannelState
from monitor.frozen import fast_init
from monitor.record import CallRecord, Finding, LiveCall, Span


@dataclass(frozen=True, slots=True)
class _Base:
    at: float
    exact: bool = field(default=True, kw_only=True)


@dataclass(frozen=True, slots=True)
class Plain(_Base):
    name: str
    count: int = 3
    tags: list[str] = field(default_factory=list)
    note: str = field(default="n", kw_only=True)


@fast_init
@dataclass(frozen=True, slots=True)
class Fast(_Base):
    name: str
    count: int = 3
    tags: list[str] = field(default_factory=list)
    note: str = field(default="n", kw_only=True)


def _values(obj: object) -> tuple[object, ...]:
    return tuple(getattr(obj, f.name) for f in fields(obj))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((1.0, "a"), {}),
        ((1.0, "a", 5), {}),
        ((1.0, "a", 5, ["x"]), {"exact": False, "note": "m"}),
        ((2.0,), {"name": "b", "tags": None}),
        ((), {"at": 3.0, "name": "c", "count": 0}),
    ],
)
def test_same_values_as_the_dataclass_init(
    args: tuple[object, ...], kwargs: dict[str, object]
) -> None:
    assert _values(Fast(*args, **kwargs)) == _values(Plain(*args, **kwargs))  # type: ignore[arg-type]


def test_signature_errors_are_the_same() -> None:
    for bad_args, bad_kwargs in (((), {}), ((1.0, "a", 1, [], True), {}), ((1.0, "a"), {"x": 1})):
        with pytest.raises(TypeError):
            Plain(*bad_args, **bad_kwargs)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            Fast(*bad_args, **bad_kwargs)  # type: ignore[arg-type]


def test_default_factory_gives_a_new_object_each_time() -> None:
    a, b = Fast(1.0, "a"), Fast(1.0, "b")
    assert a.tags == [] and a.tags is not b.tags


def test_still_frozen_hashable_replaceable_and_picklable() -> None:
    f = Fast(1.0, "a", 2, note="z")
    with pytest.raises(FrozenInstanceError):
        f.name = "b"  # type: ignore[misc]
    g = replace(f, count=9)
    assert (g.count, g.name, g.note, g.exact) == (9, "a", "z", True)
    assert pickle.loads(pickle.dumps(f)) == f
    assert repr(f).startswith("Fast(at=1.0, exact=True, name='a'")


def test_post_init_runs() -> None:
    seen: list[int] = []

    @fast_init
    @dataclass(frozen=True, slots=True)
    class WithPost:
        n: int

        def __post_init__(self) -> None:
            seen.append(self.n)

    WithPost(4)
    assert seen == [4]


def test_refuses_what_it_cannot_speed_up() -> None:
    @dataclass(slots=True)
    class Mutable:
        n: int

    @dataclass(frozen=True)
    class NoSlots:
        n: int

    for cls in (Mutable, NoSlots, int):
        with pytest.raises(TypeError):
            fast_init(cls)


def test_hot_path_classes_use_it_and_build_the_same_records() -> None:
    chan = ChannelRef("PJSIP/1-0001", "1.1", "1.1", ChannelState.UP, "100", None)
    assert chan.caller_num == "100" and chan.context == "" and chan.state is ChannelState.UP
    event = ev.ChannelCreated(5.0, chan, exact=False)
    assert (event.at, event.chan, event.exact, event.resynced) == (5.0, chan, False, False)
    for cls in (ChannelRef, ev.ChannelCreated, CallRecord, Finding, Span, LiveCall):
        assert cls.__init__.__qualname__ == f"{cls.__qualname__}.__init__"
        names = cls.__init__.__code__.co_names
        assert any(n.startswith("_set_") for n in names), cls
        assert "__dataclass_builtins_object__" not in names


def test_replacer_is_dataclasses_replace() -> None:
    from monitor.frozen import replacer
    from monitor.record import Severity
    from monitor.tracker import Tracker

    chan = ChannelRef("PJSIP/1-0001", "1.1", "1.1", ChannelState.UP, "100", None)
    tracker = Tracker()
    tracker.feed(ev.ChannelCreated(5.0, chan))
    (record,) = tracker.feed(ev.ChannelHungUp(65.0, chan, 16, "Normal Clearing"))
    late = Finding("hold-under-two-minutes", Severity.CRITICAL, 150, 120, None)
    with_findings = replacer(CallRecord, "findings")
    assert with_findings(record, (late,)) == replace(record, findings=(late,))
    assert with_findings(record, (late,)).findings == (late,)
    fast = Fast(1.0, "a", 4, ["t"], exact=False, note="x")
    both = replacer(Fast, "name", "note")
    assert _values(both(fast, "b", "y")) == _values(replace(fast, name="b", note="y"))
    with pytest.raises(TypeError):
        replacer(Fast, "nope")
    with pytest.raises(TypeError):
        replacer(int, "real")


@dataclass(frozen=True, slots=True)
class _FastChild(Fast):
    extra: int = 9


def test_a_subclass_without_fast_init_still_pickles_its_own_fields() -> None:
    child = _FastChild(1.0, "a", extra=4)
    back = pickle.loads(pickle.dumps(child))
    assert type(back) is _FastChild and back == child and back.extra == 4


def test_replacer_refuses_fields_that_would_shadow_its_own_names() -> None:
    from monitor.frozen import replacer

    @dataclass(frozen=True)
    class Odd:
        obj: int

    with pytest.raises(TypeError):
        replacer(Odd, "obj")
