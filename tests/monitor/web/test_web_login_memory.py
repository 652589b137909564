"""Issue 14, point 4: 32 parallel logins against a real uvicorn process (default argon2id,
64 MiB per check) keep its peak resident memory under 300 MB."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from web_testkit import PASSWORD, csrf_of

from monitor.store import Store

LIMIT_MB = 300
PARALLEL = 32


def _status_mb(pid: int, field: str) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
    assert m, field
    return int(m.group(1)) / 1024


def _start(store_path: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "RINGWATCH_TEST_STORE": str(store_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "login_rss_app:make_app",
         "--app-dir", str(Path(__file__).parent), "--host", "127.0.0.1", "--port", "0",
         "--log-level", "info", "--no-access-log"],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        m = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # drain
            return proc, m.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError("uvicorn did not start")


def test_parallel_logins_keep_memory_bounded(tmp_path: Path) -> None:
    store_path = tmp_path / "rss.sqlite"
    seed = Store.open(str(store_path))  # the default hasher, as in production
    seed.add_user("agent", "qa", PASSWORD)  # right password every time: no back-off applies
    seed.close()
    proc, base = _start(store_path)
    try:
        with httpx.Client(base_url=base, timeout=30) as warm:
            assert warm.get("/login").status_code == 200
        before = _status_mb(proc.pid, "VmRSS")
        gate = threading.Barrier(PARALLEL)
        results: list[tuple[int, float]] = []

        def one(i: int) -> None:
            with httpx.Client(base_url=base, timeout=60) as c:
                token = csrf_of(c.get("/login").text)
                gate.wait(30)
                t0 = time.monotonic()
                resp = c.post("/login", data={"username": "agent", "password": PASSWORD,
                                              "csrf": token, "next": "/"})  # fmt: skip
                results.append((resp.status_code, time.monotonic() - t0))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(PARALLEL)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        peak = _status_mb(proc.pid, "VmHWM")
    finally:
        proc.terminate()
        proc.wait(30)
    codes = sorted(code for code, _ in results)
    ok = codes.count(303)
    busy = [took for code, took in results if code == 503]
    print(
        f"\n{PARALLEL} parallel logins: RSS before {before:.0f} MB, peak (VmHWM) {peak:.0f} MB; "
        f"{ok} logged in, {len(busy)} refused busy (503) in at most "
        f"{max(busy, default=0):.2f} s"
    )
    assert len(results) == PARALLEL and set(codes) <= {303, 503}, codes
    assert ok >= 2
    assert peak < LIMIT_MB, f"peak RSS {peak:.0f} MB"
