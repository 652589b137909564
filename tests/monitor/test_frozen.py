"""monitor.frozen.fast_init: the faster __init__ builds exactly what the dataclass one builds."""

from __future__ import annotations

import pickle
import sys
from dataclasses import FrozenInstanceError, dataclass, field, fields, replace
from typing import Any

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


# ---- the C step (monitor/_frozen.c): the same objects and errors, without a Python frame ----

_Call = tuple[tuple[Any, ...], dict[str, Any]]
_CALLS: list[_Call] = [
    ((1.0, "a"), {}),
    ((1.0, "a", 5, ["x"]), {"exact": False, "note": "m"}),
    ((2.0,), {"name": "b", "tags": None}),
    ((), {"at": 3.0, "name": "c", "count": 0}),
]
_BAD_CALLS: list[_Call] = [
    ((), {}),
    ((1.0, "a", 1, [], True), {}),
    ((1.0, "a"), {"x": 1}),
    ((1.0, "a"), {"name": "b"}),
    ((1.0,), {"exact": True}),
]


def _by_python_init(cls: Any, *args: Any, **kwargs: Any) -> Any:
    obj = cls.__new__(cls)
    cls.__init__(obj, *args, **kwargs)
    return obj


def test_the_c_step_is_built_and_used_unless_pure_python() -> None:
    from monitor import frozen
    from monitor.native import pure_python_requested

    if pure_python_requested():
        assert frozen.ACCELERATED is False
        return
    assert frozen.ACCELERATED, "monitor/_frozen.c was not built: run `make venv`"
    from monitor import _frozen

    for cls in (ChannelRef, ev.ChannelCreated, ev.AgentCalled, CallRecord, Finding, LiveCall, Fast):
        assert _frozen.installed(cls), cls
    assert not _frozen.installed(_FastChild)  # its own dataclass __init__, the ordinary way
    assert not _frozen.installed(Plain)


@pytest.mark.parametrize(("args", "kwargs"), _CALLS)
def test_every_way_of_building_gives_what_the_python_init_gives(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    want = _values(Plain(*args, **kwargs))
    assert _values(Fast(*args, **kwargs)) == want
    # type.__call__: tp_new then tp_init, the slot mypyc's compiled constructor calls
    assert _values(type.__call__(Fast, *args, **kwargs)) == want
    assert _values(_by_python_init(Fast, *args, **kwargs)) == want


@pytest.mark.parametrize(("args", "kwargs"), _BAD_CALLS)
def test_a_call_that_does_not_bind_gets_the_python_init_error(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    messages = []
    builds: tuple[Any, ...] = (Fast, lambda *a, **k: type.__call__(Fast, *a, **k))
    for build in builds:
        with pytest.raises(TypeError) as err:
            build(*args, **kwargs)
        messages.append(str(err.value))
    with pytest.raises(TypeError) as err:
        _by_python_init(Fast, *args, **kwargs)
    assert messages == [str(err.value)] * 2


def test_hot_classes_store_and_check_each_field_as_their_python_init_does() -> None:
    args: tuple[Any, ...] = ("PJSIP/1-0001", "1.1", "1.1", ChannelState.UP, "100", None)
    chan = ChannelRef("PJSIP/1-0001", "1.1", "1.1", ChannelState.UP, "100", None, context="c")
    assert _values(chan) == _values(_by_python_init(ChannelRef, *args, context="c"))
    event = ev.AgentCalled(2.0, None, chan, "sales", "PJSIP/1", "Ann", exact=False)
    assert _values(event) == _values(
        _by_python_init(ev.AgentCalled, 2.0, None, chan, "sales", "PJSIP/1", "Ann", exact=False)
    )
    # compiled, a field's store checks its type: both ways refuse the same value alike
    outcomes: list[tuple[str, object]] = []
    builds: tuple[Any, ...] = (ev.ChannelCreated, lambda *a: _by_python_init(ev.ChannelCreated, *a))
    for build in builds:
        try:
            outcomes.append(("built", _values(build("soon", chan))))
        except TypeError as err:
            outcomes.append(("refused", str(err)))
    assert outcomes[0] == outcomes[1]


def test_post_init_and_factory_errors_come_through() -> None:
    def broken() -> list[str]:
        raise ValueError("factory")

    @fast_init
    @dataclass(frozen=True, slots=True)
    class Checked:
        n: int
        tags: list[str] = field(default_factory=broken)

        def __post_init__(self) -> None:
            if self.n < 0:
                raise ValueError("negative")

    assert Checked(1, ["t"]).tags == ["t"]
    builds: tuple[Any, ...] = (Checked, lambda *a: type.__call__(Checked, *a))
    calls: list[tuple[Any, ...]] = [(1,), (-1, [])]
    for args in calls:
        for build in builds:
            with pytest.raises(ValueError):
                build(*args)


def test_compiled_and_python_callers_build_without_an_init_frame() -> None:
    from collectors.ami.parser import AmiMessage
    from collectors.ami.translate import Translator
    from monitor import frozen

    if not frozen.ACCELERATED:
        pytest.skip("the C step is off (pure Python): the Python __init__ runs, as it should")
    msg = AmiMessage.from_pairs(
        [("Event", "Newchannel"), ("Timestamp", "5.5"), ("Channel", "PJSIP/1-0001"),
         ("Uniqueid", "1.1"), ("ChannelState", "4"), ("Linkedid", "1.1"), ("CallerIDNum", "100"),
         ("CallerIDName", "Ann"), ("ConnectedLineNum", "<unknown>"),
         ("ConnectedLineName", "<unknown>"), ("Context", "from-pstn"), ("Exten", "200")]
    )  # fmt: skip
    translator = Translator()
    frames: list[str] = []  # the __init__ fast_init writes is exec'd: its file is <string>
    sys.setprofile(lambda frame, what, arg: frames.append(frame.f_code.co_filename))
    try:
        event = translator.translate(msg)
        Fast(1.0, "a", exact=False)
    finally:
        sys.setprofile(None)
    assert isinstance(event, ev.ChannelCreated) and event.chan.caller_name == "Ann"
    assert "<string>" not in frames


def test_no_reference_is_kept_or_lost() -> None:
    name, tags = "n" * 40, ["t"]
    before = sys.getrefcount(name), sys.getrefcount(tags)
    bad: list[_Call] = [((name,), {}), ((1.0, name), {"nope": tags})]
    for _ in range(500):
        Fast(1.0, name, 2, tags, note=name)
        type.__call__(Fast, 1.0, name=name, tags=tags)
        pickle.loads(pickle.dumps(Fast(1.0, name, 2, tags)))
        for args, kwargs in bad:
            try:
                Fast(*args, **kwargs)
            except TypeError:
                pass
            else:
                raise AssertionError("not refused")
    del bad, args, kwargs
    assert (sys.getrefcount(name), sys.getrefcount(tags)) == before


def test_pickling_reads_and_rebuilds_the_fields_as_the_python_code_does() -> None:
    from monitor import frozen

    chan = ChannelRef("PJSIP/1-0001", "1.1", "1.1", ChannelState.UP, "100", None)
    for obj in (Fast(1.0, "a", 2, ["t"], exact=False), _FastChild(1.0, "a", extra=4), chan):
        kind = type(obj)
        # the same pickle as before the C step: (monitor.frozen._rebuild, (class, values))
        assert obj.__reduce__() == (
            frozen._rebuild,
            (kind, tuple(getattr(obj, f.name) for f in fields(kind))),
        )
        back = pickle.loads(pickle.dumps(obj))
        assert type(back) is kind and _values(back) == _values(obj)
    with pytest.raises(ValueError):
        frozen._rebuild(Fast, (1.0, True, "a"))  # a value short: zip(strict=True) says so


@dataclass(frozen=True, slots=True)
class _Twice:
    n: int
    tags: list[str] = field(default_factory=list)


def test_fast_init_twice_on_a_class_keeps_it_right() -> None:
    Twice = fast_init(fast_init(_Twice))
    assert _values(Twice(1)) == (1, [])
    assert _values(type.__call__(Twice, 2, tags=["t"])) == (2, ["t"])
    assert _values(pickle.loads(pickle.dumps(Twice(3)))) == (3, [])
