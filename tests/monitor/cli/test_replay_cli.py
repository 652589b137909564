"""``ringwatch replay``: formats, summary, clear errors with exit code 2."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import pytest

from monitor.cli.main import main
from monitor.record import CONTRACT_FIELDS

AMI = Path(__file__).parents[2] / "fixtures" / "ami"
ANSWERED = AMI / "ispbx-ast22.1-direct-call-answered.events.txt"
QUEUE = AMI / "callme-ast13.18-queue-call-moh-answered-hangup.events.txt"
RULES = Path(__file__).parents[3] / "rules"


def test_jsonl_has_exactly_the_contract_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--format", "jsonl", "--no-rules", str(ANSWERED)]) == 0
    out, err = capsys.readouterr()
    (line,) = out.splitlines()
    record = json.loads(line)
    assert tuple(record) == CONTRACT_FIELDS
    assert record["started_at"] == "2025-03-10T13:52:05.335Z"
    assert "1 calls" in err and "0 skipped frames" in err


def test_several_files_in_time_order_and_gz(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    gz = tmp_path / "answered.ami.gz"
    gz.write_bytes(gzip.compress(ANSWERED.read_bytes()))
    # given newest first: printed oldest first (2017 queue call, then the 2025 call)
    assert main(["replay", "--format", "jsonl", "--no-rules", str(gz), str(QUEUE)]) == 0
    ids = [json.loads(x)["call_id"] for x in capsys.readouterr().out.splitlines()]
    assert ids == ["1514295827.372", "1741614725.98"]


def test_csv_and_findings_from_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--format", "csv", "--rules", str(RULES), str(QUEUE)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows[0]["call_id"] == "1514295827.372"
    # 21 s to a person at the US 6 s cadence is 4 rings: the three-rings standard is breached
    assert "answer-within-three-rings" in rows[0]["findings"].split(";")


def test_table_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--no-rules", str(ANSWERED)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("call_id")
    assert out[1].split()[:3] == ["1741614725.98", "internal", "101"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "nope.ami", "no such file"),
        (lambda d: d, "is a directory"),
        (lambda d: _write(d / "x.ami", b"hello world\nthis is not AMI\n"), "no AMI messages found"),
        (lambda d: _write(d / "x.ami.gz", b"\x1f\x8bnot gzip"), "cannot read"),
    ],
)
def test_bad_input_is_a_clear_error_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ringwatch: error: ") and message in err and str(path) in err


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_progress_on_stderr_for_big_inputs() -> None:
    from monitor.cli.replay_cmd import _Progress

    class Pipe(io.StringIO):
        def isatty(self) -> bool:
            return False

    out = Pipe()
    progress = _Progress(out)
    total = 100 << 20
    for done in range(0, total + 1, 1 << 20):
        progress(done, total)
    lines = out.getvalue().splitlines()
    assert lines[0] == "replay: 0% (0/100 MiB)" and lines[-1] == "replay: 100% (100/100 MiB)"
    assert len(lines) == 11  # every 10 % on a pipe
    small = Pipe()
    _Progress(small)(10, 100)  # small inputs print nothing
    assert small.getvalue() == ""


def test_outside_the_repository_the_seed_standards_are_used_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # issue 16 item 9: no ./rules here; it evaluated no standards and said nothing
    monkeypatch.chdir(tmp_path)
    assert main(["replay", "--format", "jsonl", str(QUEUE)]) == 0
    out, err = capsys.readouterr()
    (record,) = [json.loads(x) for x in out.splitlines()]
    # answered at 21 s (4 US rings): the seed's answer-within-three-rings is evaluated
    assert [f["rule"] for f in record["findings"]] == ["answer-within-three-rings"]
    assert "seed standards shipped with ringwatch" in err
    assert "standards.yml (11 rules" in err


def test_the_rules_used_are_named_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--rules", str(RULES), str(QUEUE)]) == 0
    assert f"rules: {RULES} (11 rules; --rules)" in capsys.readouterr().err
    assert main(["replay", "--no-rules", str(QUEUE)]) == 0
    assert "rules: none (--no-rules)" in capsys.readouterr().err


def test_the_packaged_seed_standards_are_the_repository_copy() -> None:
    from monitor.rules.seed import SEED_RULES

    # rules/standards.yml is the editable copy; the package ships the same bytes
    assert SEED_RULES.read_bytes() == (RULES / "standards.yml").read_bytes()
