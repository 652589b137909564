"""The compiled hot path (decision 0007): built in the test environment, not stale, the
RINGWATCH_PURE_PYTHON switch back to the sources, and the same results both ways."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from collectors.ami import parser as parser_mod
from monitor import native
from monitor.events import ChannelCreated, ChannelRef, ChannelState, HoldStarted
from monitor.record import AudioFacts, Finding, Severity, Span

REPO_ROOT = Path(__file__).resolve().parents[2]
HOT = (
    "collectors.ami.parser",
    "collectors.ami.translate",
    "monitor.events.channels",
    "monitor.record",
    "monitor.tracker.tracker",
    "monitor.pipeline",
    "monitor.rules.evaluate",
)


def _backend() -> ModuleType:
    path = REPO_ROOT / ".ci" / "backend" / "ringwatch_build.py"
    spec = importlib.util.spec_from_file_location("ringwatch_build", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(code: str, pure: bool) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), RINGWATCH_PURE_PYTHON="1" if pure else "0")
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_hot_path_is_compiled_here_and_not_stale() -> None:
    """``make test`` installs a C compiler (.ci/system-deps.sh) and builds the package: the
    suite runs the compiled modules, the ones that ship."""
    assert not native.pure_python_requested(), "unset RINGWATCH_PURE_PYTHON to run the suite"
    compiled = native.compiled_modules()
    for name in HOT:
        assert name in compiled, f"{name} is not compiled: run `make venv`"
        assert not str(importlib.import_module(name).__file__).endswith(".py")
    assert native.stale_modules() == []
    assert native.summary() == (
        f"hot path: compiled by mypyc ({len(compiled)} modules); C steps: AMI parse "
        "(collectors/ami/_speedups.c), frozen records (monitor/_frozen.c)"
    )
    assert not native.degraded()


def test_a_missing_c_step_is_said_and_counts_as_degraded(monkeypatch: pytest.MonkeyPatch) -> None:
    """An install whose C steps did not build (no compiler) runs slower: the service logs it
    as a warning at start and ``import``/``replay`` print it (they use ``degraded``)."""
    from monitor import frozen

    monkeypatch.setattr(frozen, "ACCELERATED", False)
    assert native.degraded()
    assert native.c_steps() == (
        "C steps missing (not built at install: no C compiler?): frozen records (monitor/_frozen.c)"
    )


def test_the_build_list_and_the_compiled_modules_agree() -> None:
    listed = _backend().NATIVE_MODULES
    for path in listed:
        assert (REPO_ROOT / path).is_file(), path
    as_modules = {p.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for p in listed}
    assert as_modules == set(native.compiled_modules())


def test_pure_python_switch_loads_every_module_from_its_source() -> None:
    code = (
        "import json, sys, monitor.pipeline, monitor.native as n\n"
        "import collectors.ami.parser as p, collectors.ami.translate\n"
        "files = {m: sys.modules[m].__file__ for m in n.compiled_modules() if m in sys.modules}\n"
        "print(json.dumps([files, p.ACCELERATED, n.summary()]))\n"
    )
    files, accelerated, summary = json.loads(_run(code, pure=True))
    assert set(HOT) <= set(files)
    assert all(f.endswith(".py") for f in files.values()), files
    assert accelerated is False  # the AMI parser's C step is off too
    assert summary == (
        "hot path: pure Python (RINGWATCH_PURE_PYTHON is set); C steps: off "
        "(RINGWATCH_PURE_PYTHON is set)"
    )
    files, accelerated, _ = json.loads(_run(code, pure=False))
    assert not any(f.endswith(".py") for f in files.values()), files
    assert accelerated is parser_mod.ACCELERATED


_REPLAY = """
import hashlib, json
from pathlib import Path
from collectors.ami.parser import parse_all
from monitor.pipeline import Pipeline
from monitor.rules import load_rules
from monitor.simulator import ContactCentre, default_config, render
from monitor.tracker import Tracker

rules = load_rules("rules/standards.yml")
streams = [p.read_bytes() for p in sorted(Path("tests/fixtures/ami").glob("*.txt"))]
engine = ContactCentre(default_config(), seed=11)
streams.append(b"".join(render(at, m, True) for at, m in engine.run_until(engine.now + 4 * 3600)))
engine = ContactCentre(default_config(), seed=12)
streams.append(b"".join(render(at, m, False) for at, m in engine.run_until(engine.now + 3600)))
out = hashlib.sha256()
counts = []
for data in streams:
    pipeline = Pipeline(Tracker(), rules)
    records = []
    for msg in parse_all(data):
        records += pipeline.feed_message(msg)
    records += pipeline.finish()
    for r in records:
        out.update(repr(r).encode())
    t = pipeline.translator
    counts.append([len(records), pipeline.stats.findings, pipeline.stats.live_findings,
                   t.translated, t.malformed, sorted(t.ignored.items()), sorted(t.unknown.items()),
                   pipeline.tracker.stats.events, sorted(pipeline.tracker.stats.illegal.items())])
print(json.dumps([out.hexdigest(), counts]))
"""


def test_compiled_and_pure_python_give_the_same_calls() -> None:
    """Every capture and ~5 simulated hours (with and without timestamps) through the whole
    pipeline: the records (repr of every field), findings and counters are identical."""
    compiled = json.loads(_run(_REPLAY, pure=False))
    pure = json.loads(_run(_REPLAY, pure=True))
    assert compiled == pure
    calls = sum(c[0] for c in compiled[1])
    findings = sum(c[1] for c in compiled[1])
    assert calls > 400 and findings > 40  # the comparison covered real traffic and breaches


def test_native_classes_pickle_and_stay_frozen() -> None:
    """The audio worker processes pickle results; a frozen mypyc class needs fast_init's
    ``__reduce__`` for that."""
    chan = ChannelRef("PJSIP/1-0001", "1.1", "1.1", ChannelState.UP, "100", None)
    objects = [
        chan,
        ChannelCreated(5.0, chan, exact=False),
        HoldStarted(6.0, chan),
        Finding("r", Severity.CRITICAL, 1.5, 1.0, 3.0),
        AudioFacts(60.0, None, 1.25, dead_air=(Span(1.0, 4.0),)),
        Span(1.0, 2.0),
    ]
    for obj in objects:
        back = pickle.loads(pickle.dumps(obj))
        assert back == obj and type(back) is type(obj)
        with pytest.raises(AttributeError):
            obj.at = 1.0  # type: ignore[misc,union-attr]


def test_the_build_falls_back_to_pure_python(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = _backend()
    monkeypatch.setenv("RINGWATCH_COMPILE", "0")
    assert backend._mypyc_extensions() == []
    monkeypatch.delenv("RINGWATCH_COMPILE")
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert not backend._compiler_found()
    assert backend._mypyc_extensions() == []


def test_source_of_finds_the_py_file(tmp_path: Path) -> None:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (tmp_path / "a.py").write_text("")
    assert native.source_of(tmp_path / f"a{suffix}") == tmp_path / "a.py"
    assert native.source_of(tmp_path / f"b{suffix}") is None  # a C extension: no source
    assert native.source_of(tmp_path / "a.txt") is None


def test_the_service_logs_what_runs_compiled_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio
    import logging

    from monitor.config import Config, PbxConfig, Secret
    from monitor.service import Service

    cfg = Config(
        pbxs=(PbxConfig(name="main", secret=Secret("x")),),
        rules_dir=REPO_ROOT / "rules",
        store_url=f"sqlite:///{tmp_path / 'rw.sqlite'}",
        web_enabled=False,
    )
    service = Service(cfg)

    async def main() -> None:
        stop = asyncio.Event()
        await asyncio.wait_for(service.run(stop, collect=False, on_ready=lambda _: stop.set()), 30)

    with caplog.at_level(logging.INFO, logger="monitor.service"):
        try:
            asyncio.run(main())
        finally:
            service.close()
    said = [r for r in caplog.records if r.getMessage().startswith("hot path: ")]
    assert [r.getMessage() for r in said] == [native.summary()]
    assert said[0].levelno == logging.INFO  # (a warning when degraded)
