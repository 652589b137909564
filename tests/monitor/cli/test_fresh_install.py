"""`make demo` on a machine with nothing but Python (issue 17, point 1).

A new venv installs the demo's dependencies (pyproject's base list plus the Makefile's
``DEMO_EXTRAS``) with ``--only-binary=:all:`` (no source build, so no compiler and no PortAudio
headers are needed), then ringwatch itself with no C compiler (``CC`` points nowhere,
``RINGWATCH_COMPILE=0``; the C step ``_speedups`` is optional and fails quietly), exactly as the
Makefile's demo install does. Then ``ringwatch demo`` runs until the first flagged call is in
the QA queue (the store's ``flags``), bounded at 60 s after the start, and is stopped with
Ctrl-C. It reuses pip's cache (the install took about 20 s here with the cache warm); the
figures are printed (``pytest -s``).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SOURCES = ("pyproject.toml", "README.md", ".ci/backend", "monitor", "collectors", "rules")
URL = re.compile(r"QA review queue:\s+(http://127\.0\.0\.1:\d+)/")
pytestmark = pytest.mark.slow


def demo_requirements() -> list[str]:
    """What `make demo` installs: the base dependencies and the Makefile's DEMO_EXTRAS."""
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^DEMO_EXTRAS := (.+)$", make, re.M)
    assert match, "Makefile: DEMO_EXTRAS is gone"
    extras = match.group(1).split(",")
    assert "--only-binary=:all: -e '.[$(DEMO_EXTRAS)]'" in make, "the demo: wheels, DEMO_EXTRAS"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra.strip()]
    return reqs


def copy_sources(dest: Path) -> Path:
    """The files a clone has that the install reads (no build output, no compiled modules)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.egg-info", "build")
    for name in SOURCES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def no_compiler_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RINGWATCH_", "VIRTUAL_ENV"))}
    env.update(CC="/nonexistent/cc", CXX="/nonexistent/c++", RINGWATCH_COMPILE="0", **extra)
    return env


def test_demo_requirements_have_wheels_and_leave_out_pyaudio() -> None:
    reqs = demo_requirements()
    names = {re.split(r"[\[<>=!~ ]", r, maxsplit=1)[0].lower() for r in reqs}
    assert "pyaudio" not in names, "PyAudio needs PortAudio headers: it belongs to `device`"
    assert {"fastapi", "numpy", "webrtcvad-wheels"} <= names
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(r.startswith("PyAudio") for r in project["optional-dependencies"]["device"])
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^DEV_EXTRAS := .*\bdevice\b", make, re.M), "make test installs PyAudio"


def _wait_for_flag(store: Path, proc: subprocess.Popen[str], deadline: float) -> str:
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the demo stopped before a call was flagged"
        if store.exists():
            with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5) as db:
                try:
                    row = db.execute("SELECT call_id FROM flags LIMIT 1").fetchone()
                except sqlite3.OperationalError:  # the schema is being created
                    row = None
            if row:
                return str(row[0])
        time.sleep(0.5)  # polling another process's store: there is no event to await
    raise AssertionError("no flagged call in the QA queue within 60 s of the demo's start")


def test_fresh_venv_installs_from_wheels_without_a_compiler_and_runs_the_demo(
    tmp_path: Path,
) -> None:
    src = copy_sources(tmp_path / "src")
    venv = tmp_path / "venv"
    env = no_compiler_env()
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin/python"), "-m", "pip", "install", "-q", "--no-compile"]
    pip += ["--only-binary=:all:"]  # as the Makefile's demo install
    deps = subprocess.run(
        [*pip, *demo_requirements()],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert deps.returncode == 0, deps.stderr[-3000:]
    t_deps = time.monotonic()
    own = subprocess.run(
        [*pip, "--no-deps", "-e", str(src)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert own.returncode == 0, own.stderr[-3000:]
    t_installed = time.monotonic()
    assert not list(src.rglob("*.so")), "nothing may be compiled"
    check = subprocess.run(
        [str(venv / "bin/python"), "-c",
         "import importlib.util, collectors.ami.parser as p, monitor.native as n;"
         "print(p.ACCELERATED, n.compiled_modules(), importlib.util.find_spec('pyaudio'))"],
        env=env, capture_output=True, text=True, timeout=60, check=True, cwd=tmp_path,
    )  # fmt: skip
    assert check.stdout.split() == ["False", "[]", "None"], check.stdout

    data = tmp_path / "data"
    demo_env = no_compiler_env(RINGWATCH_DATA=str(data))
    start = time.monotonic()
    demo = ["demo", "--port", "0", "--ami-port", "0", "--duration", "120"]
    proc = subprocess.Popen(
        [str(venv / "bin/ringwatch"), *demo],
        env=demo_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )  # fmt: skip
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if URL.search(line):
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(60), "the demo printed no URLs within 60 s"
        banner = "".join(lines)
        match = URL.search(banner)
        assert match, banner
        t_urls = time.monotonic()
        assert "log in as:           demo / " in banner
        with urllib.request.urlopen(match.group(1) + "/healthz", timeout=10) as resp:
            assert resp.status == 200
        call_id = _wait_for_flag(data / "ringwatch.sqlite", proc, start + 60)
        t_flag = time.monotonic()
        assert call_id
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
            reader.join(10)
    out = "".join(lines)
    assert proc.returncode == 0, out[-3000:]
    assert "ringwatch demo stopped:" in out, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    print(
        f"\nfresh install: dependencies {t_deps - t0:.1f} s, "
        f"ringwatch {t_installed - t_deps:.1f} s; demo: URLs after {t_urls - start:.1f} s, "
        f"first flagged call after {t_flag - start:.1f} s"
    )
