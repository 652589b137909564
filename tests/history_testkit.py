"""Test helpers for history import: large generated transcripts and a child-process RSS probe."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

AMI = Path(__file__).parent / "fixtures" / "ami"
ANSWERED = AMI / "ispbx-ast22.1-direct-call-answered.events.txt"
UNANSWERED = AMI / "ispbx-ast22.1-direct-call-unanswered.events.txt"
QUEUE = AMI / "callme-ast13.18-queue-call-moh-answered-hangup.events.txt"
ROOT = Path(__file__).parents[1]

_EPOCH = re.compile(rb"17416147(\d\d)\.")


def repeated_transcript(path: Path, target_bytes: int, spacing: int = 100) -> int:
    """Write copies of a real answered call, each ``spacing`` s later with its own ids, until
    the file reaches ``target_bytes``. Returns the number of calls written."""
    template = ANSWERED.read_bytes()
    base = 1741614700
    n = 0
    with path.open("wb") as out:
        size = 0
        while size < target_bytes:
            shift = n * spacing

            def bump(m: re.Match[bytes], shift: int = shift) -> bytes:
                return str(base + int(m.group(1)) + shift).encode() + b"."

            block = _EPOCH.sub(bump, template)
            out.write(block)
            if not block.endswith(b"\n\n") and not block.endswith(b"\r\n\r\n"):
                out.write(b"\r\n")
            size += len(block)
            n += 1
    return n


_PROBE = """
import json, sys
from monitor.cli.main import main
code = main(sys.argv[2:])
status = open('/proc/self/status').read()
peak = [int(line.split()[1]) for line in status.splitlines() if line.startswith('VmHWM')][0]
with open(sys.argv[1], 'w') as fh:
    json.dump({'code': code, 'vmhwm_kib': peak}, fh)
sys.exit(code)
"""


def run_cli_measured(
    args: Sequence[str], tmp: Path, *, timeout: float = 300, stdin: bytes | None = None
) -> tuple[int, float, str]:
    """Run ``ringwatch ARGS`` in a child process; (exit code, peak RSS MiB, stderr)."""
    out = tmp / f"probe-{len(list(tmp.iterdir()))}.json"
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(out), *args],
        input=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    data = json.loads(out.read_text()) if out.exists() else {"vmhwm_kib": 0}
    return proc.returncode, data["vmhwm_kib"] / 1024, proc.stderr.decode("utf-8", "replace")


def assert_queue_log_matches_ami(
    ami_files: Sequence[Path], queue_log_files: Sequence[Path], *, tolerance: float = 1.0
) -> int:
    """The cross-check of issue 18 item 2: import the AMI transcripts of some calls and the
    queue_log the same Asterisk wrote for them into two stores, and assert that every call
    agrees on what both can know (monitor.history.crosscheck). Returns the calls compared.
    For the real-Asterisk lab: give it the lab's AMI capture and /var/log/asterisk/queue_log."""
    import tempfile

    from monitor.config import Config
    from monitor.history.crosscheck import crosscheck
    from monitor.history.wiring import build_importer
    from monitor.store.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        records = []
        for name, files in (("ami", ami_files), ("queue_log", queue_log_files)):
            store = Store.open(str(Path(tmp) / f"{name}.sqlite"))
            build_importer(Config(), store, None).run(list(files))
            records.append(store.list_calls(limit=1000))
            store.close()
    result = crosscheck(records[0], records[1], tolerance)
    assert result.ok and result.matched > 0, result.report()
    return result.matched
