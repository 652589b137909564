"""``ringwatch run`` as an operator runs it: a real process against the simulator process,
health per component, metrics, SIGHUP rule reload (a bad set rejected, a good one taken) and a
clean stop on SIGTERM."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
RINGWATCH = [sys.executable, "-m", "monitor.cli.main"]
pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(what: str, check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)  # polling another process: there is no event to await across it
    raise AssertionError(f"timed out waiting for {what}")


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None


def _metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[-1])
    return total


Running = tuple[subprocess.Popen[bytes], str, Path, Path, Callable[[], subprocess.Popen[bytes]]]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    sim_port, web_port = _port(), _port()
    env = dict(os.environ, RW_TEST_SECRET="s3cret-for-test", RINGWATCH_SIM_SECRET="s3cret-for-test")
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules, ignore=shutil.ignore_patterns("tests"))
    cfg = tmp_path / "ringwatch.yml"
    cfg.write_text(
        f"""
site: {{country: GB, timezone: Europe/London}}
pbx:
  - {{name: lab, host: 127.0.0.1, port: {sim_port}, username: ringwatch,
      secret_env: RW_TEST_SECRET}}
queues: [sales, support]
rules: {{dir: rules}}
store: {{url: "sqlite:///{tmp_path}/rw.sqlite"}}
web: {{listen: "127.0.0.1:{web_port}"}}
""",
        encoding="utf-8",
    )
    sim = subprocess.Popen(
        [
            *RINGWATCH,
            "simulate",
            "--listen",
            f"127.0.0.1:{sim_port}",
            "--speed",
            "60",
            "--seed",
            "4",
            "--run-for",
            "5m",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = tmp_path / "run.log"
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [*RINGWATCH, "-v", "run", "--config", str(cfg)],
                cwd=tmp_path,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        return proc

    try:
        yield start(), f"http://127.0.0.1:{web_port}", rules, log, start
    finally:
        for p in [*procs, sim]:
            if p.poll() is None:
                p.kill()
                p.wait(10)


def test_run_serves_reloads_on_sighup_and_stops_on_sigterm(
    running: Running,
) -> None:
    proc, base, rules, log, _ = running

    _until("the AMI link to come up", lambda: _ami_up(base))

    def calls_counted() -> bool:
        r = _get(base + "/metrics")
        return r is not None and _metric(r.text, "ringwatch_calls_total") >= 3

    _until("calls to be counted", calls_counted, timeout=60)
    metrics = httpx.get(base + "/metrics").text
    loaded = _metric(metrics, "ringwatch_rules_loaded")
    assert loaded >= 10
    assert "s3cret" not in log.read_text()  # the secret is never logged

    # an invalid rule file: rejected with its position, the old set keeps running
    bad = rules / "zz-extra.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - id: y\n        check: nope\n")
    proc.send_signal(signal.SIGHUP)
    _until("the rejection to be logged", lambda: "new rules rejected" in log.read_text())
    assert re.search(r"zz-extra\.yml:5:\d+: .*unknown check \"nope\"", log.read_text())
    assert _metric(httpx.get(base + "/metrics").text, "ringwatch_rules_loaded") == loaded

    # a valid extra rule: taken
    bad.write_text(
        "groups:\n  - name: extra\n    rules:\n      - id: extra-transfers\n"
        "        check: transfers\n        params: {max: 3}\n        severity: info\n"
    )
    proc.send_signal(signal.SIGHUP)
    _until(
        "the new rule to be loaded",
        lambda: _metric(httpx.get(base + "/metrics").text, "ringwatch_rules_loaded") == loaded + 1,
    )
    assert proc.poll() is None

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0


def _ami_up(base: str) -> bool:
    """The AMI link is up: ``ringwatch_ami_up`` (/healthz shows anonymous users only the
    status; the components are at /healthz/details, behind login)."""
    r = _get(base + "/metrics")
    return r is not None and 'ringwatch_ami_up{pbx="lab"} 1.0' in r.text


def _promises(db: Path) -> dict[int, tuple[object, ...]]:
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT id, key, number, made_at, due_at, state FROM promises")
            ).all()
    finally:
        engine.dispose()
    return {int(r[0]): tuple(r[1:]) for r in rows}


def test_kill_9_with_open_promises_keeps_them_after_restart(running: Running) -> None:
    proc, base, _, log, start = running
    db = log.parent / "rw.sqlite"
    _until("the AMI link to come up", lambda: _ami_up(base))
    _until("callback promises to be made", lambda: len(_promises(db)) >= 3, timeout=90)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL
    before = _promises(db)
    assert any(state == "open" for *_, state in before.values())

    again = start()
    _until("the restarted service", lambda: _ami_up(base))
    after = _promises(db)
    # every promise survived the crash, with its number, key and due time, none duplicated
    for pid, (key, number, made_at, due_at, _state) in before.items():
        assert after[pid][:4] == (key, number, made_at, due_at)
    keys = [row[0] for row in after.values()]
    assert len(keys) == len(set(keys))
    again.send_signal(signal.SIGTERM)
    assert again.wait(15) == 0


def test_audio_workers_leave_ctrl_c_to_the_service() -> None:
    """Ctrl-C reaches the whole process group; an audio worker must not die of it (a traceback
    and a broken pool on every `make demo` stop)."""
    code = (
        "import os, signal\n"
        "from monitor.service import _audio_worker_ignores_ctrl_c\n"
        "_audio_worker_ignores_ctrl_c()\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "print('survived')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "survived"
