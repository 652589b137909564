"""``store.retention_days`` purges (calls, findings, closed promises with their history,
recordings) and a web port in use is one line and exit 2 (issue 20 item 7)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, insert, select

from monitor.config import Config, PbxConfig, Secret
from monitor.promises.tables import promise_events, promises
from monitor.reports.checks import write_checks
from monitor.service import Service
from monitor.store.history_schema import call_checks
from tests.callrecord_factory import record

REPO = Path(__file__).resolve().parents[2]
DAY = 86400.0


def _promise(conn: object, key: str, state: str, closed_at: float | None) -> None:
    made = (closed_at or time.time()) - 3600
    pid = conn.execute(  # type: ignore[attr-defined]
        insert(promises).values(
            key=key,
            kind="implicit",
            pbx="main",
            rule="callback",
            made_at=made,
            due_at=made + 60,
            state=state,
            closed_at=closed_at,
            misses=1,
        )
    ).inserted_primary_key[0]
    conn.execute(  # type: ignore[attr-defined]
        insert(promise_events).values(
            promise_id=pid, action="made", at=made, actor="system", detail=""
        )
    )


def test_retention_purges_old_calls_promises_and_recordings(tmp_path: Path) -> None:
    rec_dir = tmp_path / "recordings"
    rec_dir.mkdir()
    cfg = Config(
        pbxs=(PbxConfig(name="main", secret=Secret("x")),),
        rules_dir=REPO / "rules",
        store_url=f"sqlite:///{tmp_path / 'rw.sqlite'}",
        retention_days=30,
        recordings_dir=rec_dir,
        web_enabled=False,
    )
    service = Service(cfg)
    try:
        now = time.time()
        old, new = now - 40 * DAY, now - 2 * DAY
        store = service.store
        store.save_call(record("old.1", started_at=old, answered_at=old + 5, ended_at=old + 60,
                               findings=()))  # fmt: skip
        store.save_call(record("new.1", started_at=new, answered_at=new + 5, ended_at=new + 60))
        with store.engine.begin() as conn:
            write_checks(conn, "old.1", [("answer-within-three-rings", True)])
            write_checks(conn, "new.1", [("answer-within-three-rings", False)])
            _promise(conn, "old-broken", "broken", old)
            _promise(conn, "old-open", "open", None)
            _promise(conn, "new-kept", "kept", new)
        stale = rec_dir / "2026" / "q-old.1.wav"
        fresh = rec_dir / "q-new.1.wav"
        other = rec_dir / "notes.txt"
        stale.parent.mkdir()
        for f in (stale, fresh, other):
            f.write_bytes(b"RIFF")
        os.utime(stale, (old, old))
        os.utime(other, (old, old))
        result = service.purge_old()
        assert (result.calls, result.promises, result.recordings) == (1, 1, 1)
        assert store.call("old.1") is None and store.call("new.1") is not None
        with store.engine.connect() as conn:
            keys = set(conn.execute(select(promises.c.key)).scalars())
            history = conn.execute(select(func.count()).select_from(promise_events)).scalar()
            checked = set(conn.execute(select(call_checks.c.call_id)).scalars())
        assert keys == {"old-open", "new-kept"} and history == 2
        assert checked == {"new.1"}  # the purged call's standard results go with it
        assert not stale.exists() and fresh.exists() and other.exists()  # only recordings
        assert service.purge_old().calls == 0  # idempotent
    finally:
        service.close()


def test_web_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        cfg = tmp_path / "ringwatch.yml"
        cfg.write_text(
            f"""
pbx:
  - {{name: lab, host: 127.0.0.1, port: 9, secret_env: RW_TEST_SECRET}}
rules: {{dir: {REPO / "rules"}}}
store: {{url: "sqlite:///{tmp_path}/rw.sqlite"}}
web: {{listen: "127.0.0.1:{port}"}}
""",
            encoding="utf-8",
        )
        proc = subprocess.run(
            [sys.executable, "-m", "monitor.cli.main", "run", "--config", str(cfg)],
            cwd=tmp_path,
            env=dict(os.environ, RW_TEST_SECRET="x"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    err = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(err) == 1 and err[0].startswith("ringwatch: error: web.listen: cannot listen on")
    assert f"127.0.0.1:{port}" in err[0] and "in use" in err[0]


def test_web_port_zero_says_the_port_it_got(tmp_path: Path) -> None:
    """``web.listen`` port 0: the system picks a free port and ``ringwatch run`` says which
    (stderr), so a test or a supervisor script can reach it; /healthz answers there and
    names it."""
    import re
    import signal

    import httpx

    cfg = tmp_path / "ringwatch.yml"
    cfg.write_text(
        f"""
pbx:
  - {{name: lab, host: 127.0.0.1, port: 9, secret_env: RW_TEST_SECRET}}
rules: {{dir: {REPO / "rules"}}}
store: {{url: "sqlite:///{tmp_path}/rw.sqlite"}}
web: {{listen: "127.0.0.1:0"}}
""",
        encoding="utf-8",
    )
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli.main", "run", "--config", str(cfg)],
            cwd=tmp_path,
            env=dict(os.environ, RW_TEST_SECRET="x"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        found = None
        deadline = time.monotonic() + 60
        while found is None and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"web listening on http://127\.0\.0\.1:(\d+)", log.read_text())
            if found is None:
                time.sleep(0.05)  # another process: nothing to await but its output
        assert found is not None, log.read_text()
        port = int(found.group(1))
        assert port != 0
        resp = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert resp.status_code in (200, 503), resp.text  # the PBX is not there: degraded
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
