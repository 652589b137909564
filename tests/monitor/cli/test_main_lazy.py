"""The command line starts fast: commands load on demand, and the commands that need no web
tier or store never import FastAPI, SQLAlchemy or uvicorn (issue 17, point 3).

Each command runs in a fresh interpreter through a small wrapper that prints which of the
heavy modules ended up in ``sys.modules``. Start-up times are printed (``pytest -s``), not
asserted: on a shared machine they vary too much for a bound to mean anything.
"""

from __future__ import annotations

import json
import math
import struct
import subprocess
import sys
import time
import wave
from pathlib import Path

import click
import pytest

from monitor.cli.main import COMMANDS, cli

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests/fixtures/ami/ispbx-ast22.1-direct-call-answered.events.txt"
HEAVY = ("fastapi", "sqlalchemy", "uvicorn", "starlette", "jinja2")
WRAPPER = """
import json, sys
from monitor.cli.main import main
code = main(sys.argv[1:])
watch = {"fastapi", "sqlalchemy", "uvicorn", "starlette", "jinja2", "numpy", "yaml"}
loaded = sorted(m for m in watch if m in sys.modules)
cmds = sorted(m for m in sys.modules if m.startswith("monitor.cli.") and m.endswith("_cmd"))
print(json.dumps({"code": code, "loaded": loaded, "cmd_modules": cmds}), file=sys.stderr)
"""


def run(args: list[str], cwd: Path) -> tuple[dict[str, object], float]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    took = time.perf_counter() - start
    result: dict[str, object] = json.loads(out.stderr.strip().splitlines()[-1])
    assert result["code"] == 0, out.stdout + out.stderr
    return result, took


def test_every_command_is_listed_with_its_own_help() -> None:
    ctx = click.Context(cli)
    for name, entry in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name, name
        assert command.get_short_help_str(10**6) == entry.help, name
    assert cli.get_command(ctx, "no-such-command") is None


def test_top_level_help_loads_no_command_module(tmp_path: Path) -> None:
    result, took = run(["--help"], tmp_path)
    assert result["cmd_modules"] == [] and result["loaded"] == []
    print(f"\nringwatch --help: {took:.2f} s (interpreter included)")


@pytest.mark.parametrize(
    "args",
    [
        ["audio", "analyze", "--help"],
        ["replay", "--help"],
        ["simulate", "--help"],
        ["rules", "--help"],
        ["demo", "--help"],
        ["run", "--help"],
        ["users", "--help"],
    ],
)
def test_command_help_loads_one_module_and_no_heavy_library(
    args: list[str], tmp_path: Path
) -> None:
    result, took = run(args, tmp_path)
    assert result["cmd_modules"] == [COMMANDS[args[0]].module], result
    if args[0] != "users":  # users' --role choices come from the store schema
        assert result["loaded"] == [], result  # not even PyYAML or numpy
    print(f"\nringwatch {' '.join(args)}: {took:.2f} s")


def _wav(path: Path) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        frames = bytearray()
        for i in range(8000 * 4):
            voice = int(6000 * math.sin(2 * math.pi * 300 * i / 8000)) if 8000 < i < 20000 else 0
            frames += struct.pack("<hh", voice, 0)
        out.writeframes(bytes(frames))
    return path


def test_replay_rules_audio_simulate_never_import_the_web_tier_or_the_store(
    tmp_path: Path,
) -> None:
    runs = {
        "replay": ["replay", "--format", "jsonl", str(FIXTURE)],
        "rules check": ["rules", "check", str(ROOT / "rules")],
        "rules test": ["rules", "test", str(ROOT / "rules")],
        "audio analyze": ["audio", "analyze", str(_wav(tmp_path / "a.wav")), "--answer-at", "0.5"],
        "simulate --transcript": ["simulate", "--transcript", str(tmp_path / "t.ami")],
        "simulate (server)": ["simulate", "--listen", "127.0.0.1:0", "--secret", "s"],
    }
    runs["simulate --transcript"] += ["--duration", "10m"]
    runs["simulate (server)"] += ["--run-for", "0.5s"]
    for what, args in runs.items():
        result, took = run(args, tmp_path)
        loaded = result["loaded"]
        assert isinstance(loaded, list)
        assert not set(loaded) & set(HEAVY), (what, loaded)
        print(f"\nringwatch {what}: {took:.2f} s")
    assert (tmp_path / "t.ami").stat().st_size > 0
