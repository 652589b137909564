"""``ringwatch run`` as an operator runs it, against the lab's Asterisk: a real process, its
config written by the test (the README's AMI user), its store and /metrics read back."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

from tests.lab.asterisk import REPO
from tests.lab.lab import Lab

__all__ = ["Live", "figure", "metric", "until"]

RINGWATCH = [sys.executable, "-m", "monitor.cli.main"]
_LISTENING = re.compile(r"web listening on (http://127\.0\.0\.1:\d+)")
QUEUES = ["q-ringall", "q-linear", "q-rr", "q-pj", "q-ab", "q-at", "q-slow", "q-to", "q-key",
          "q-dyn", "q-bt", "q-live"]  # fmt: skip


def until(what: str, check: Callable[[], bool], timeout: float = 30.0, step: float = 0.05) -> float:
    """Poll another process (no event crosses it) until ``check``; the time it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return time.time()
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def figure(name: str, value: object) -> None:
    """Keep a measured figure in tests/artifacts/lab/figures.json (for the record)."""
    path = REPO / "tests/artifacts/lab/figures.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = value
    path.write_text(json.dumps(figures, indent=1, default=str))


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, value = line.rsplit(" ", 1)
        if head.split("{", 1)[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


@dataclass
class Live:
    proc: subprocess.Popen[bytes]
    base: str
    db: Path
    log: Path

    @classmethod
    def start(cls, lab: Lab) -> Live:
        d = lab.dir / "ringwatch"
        d.mkdir()
        shutil.copytree(REPO / "rules", d / "rules", ignore=shutil.ignore_patterns("tests"))
        db = d / "rw.sqlite"
        (d / "ringwatch.yml").write_text(
            f"""
site: {{country: US, timezone: UTC}}
pbx:
  - {{name: lab, host: 127.0.0.1, port: {lab.ast.ports.ami}, username: ringwatch,
      secret_env: RW_LAB_SECRET, inbound_contexts: [from-pstn, lab-phones]}}
queues: [{", ".join(QUEUES)}]
rules: {{dir: rules}}
store: {{url: "sqlite:///{db}"}}
web: {{listen: "127.0.0.1:0"}}
audio:
  enabled: true
  recordings_dir: {lab.ast.recordings}
  pbx_recordings_dir: {lab.ast.recordings}
  recording_start: answer
""",
            encoding="utf-8",
        )
        env = dict(os.environ, RW_LAB_SECRET=lab.ast.ringwatch_secret)
        log = d / "run.log"
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [*RINGWATCH, "-v", "run", "--config", str(d / "ringwatch.yml")],
                cwd=d, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        live = cls(proc, "", db, log)
        # web.listen port 0: the system picks a free port; `ringwatch run` says which
        until("ringwatch run's web address", live.web_bound, timeout=60)
        until("ringwatch run to connect to the lab", live.ami_up, timeout=60)
        return live

    def web_bound(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"ringwatch run exited {self.proc.returncode}: {self.log.read_text()[-3000:]}"
            )
        found = _LISTENING.search(self.log.read_text(errors="replace"))
        if found is not None:
            self.base = found.group(1)
        return found is not None

    def get(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(self.base + path, timeout=2)
        except httpx.HTTPError:
            return None

    def ami_up(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(
                f"ringwatch run exited {self.proc.returncode}: {self.log.read_text()[-3000:]}"
            )
        # /healthz is status only (details need a login): the public ringwatch_ami_up gauge
        r = self.get("/metrics")
        return r is not None and metric(r.text, "ringwatch_ami_up", pbx="lab") == 1.0

    def metrics(self) -> str:
        r = self.get("/metrics")
        assert r is not None and r.status_code == 200
        return r.text

    def rows(self, table: str) -> list[dict[str, object]]:
        if not self.db.exists():
            return []
        engine = sa.create_engine(f"sqlite:///{self.db}")
        try:
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]
        except sa.exc.OperationalError:
            return []
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        artifacts = REPO / "tests/artifacts/lab"
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.log, artifacts / "ringwatch-run.log")
