"""ringwatch.yml validation: every problem listed with its key path; secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Secret, load_config, parse_duration
from monitor.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ringwatch.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file() -> None:
    cfg = load_config(None)
    assert cfg.country == "US" and cfg.cadence_seconds == 6.0
    assert cfg.pbxs[0].name == "default"


def test_full_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMI_SECRET", "s3cr3t-value")
    cfg = load_config(
        write(
            tmp_path,
            """
site: {country: gb, timezone: Europe/London}
pbx:
  - {name: main, host: 10.0.0.5, port: 5039, tls: true, auth: md5, secret_env: AMI_SECRET}
tracker: {stale_after: 2h, outside_min_digits: 8}
queues: [sales, support]
""",
        )
    )
    assert cfg.country == "GB" and cfg.cadence_seconds == 3.0
    pbx = cfg.pbxs[0]
    assert (pbx.name, pbx.port, pbx.tls, pbx.auth) == ("main", 5039, True, "md5")
    assert pbx.secret is not None and pbx.secret.reveal() == "s3cr3t-value"
    assert "s3cr3t" not in repr(cfg) and "s3cr3t" not in str(pbx)
    assert cfg.stale_after_seconds == 7200.0
    assert cfg.queues == ("sales", "support")


def test_every_problem_is_listed_with_its_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
site: {country: XX, timezone: Mars/Olympus}
pbx:
  - {name: a, port: 99999, auth: kerberos, secret_env: NOT_SET_ANYWHERE_123, colour: red}
  - {name: a}
tracker: {stale_after: soon}
web: {listen: nowhere}
audio: {pattern: "*.wav", recording_start: later, parties: [left, right]}
surprise: 1
""",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    problems = err.value.problems
    text = str(err.value)
    assert str(path) in text
    expected = [
        "site.country: unknown country 'XX'",
        "site.timezone: unknown time zone 'Mars/Olympus'",
        "pbx[0].port: 99999 is not a TCP port",
        "pbx[0].auth: expected plain or md5",
        "pbx[0].secret_env: environment variable NOT_SET_ANYWHERE_123 is not set",
        "pbx[0].colour: unknown key",
        "pbx[1].name: duplicate PBX name 'a'",
        "tracker.stale_after: expected a duration",
        "web.listen: expected HOST:PORT",
        "audio.pattern: must contain {call_id}",
        "audio.recording_start: expected answer or start",
        "audio.parties: expected [caller, agent]",
        "surprise: unknown key",
    ]
    for want in expected:
        assert any(want in p for p in problems), (want, problems)


def test_invalid_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "site:\n  country: [GB\n")
    with pytest.raises(ConfigError, match=r"ringwatch\.yml:\d+:\d+: not valid YAML"):
        load_config(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(tmp_path / "missing.yml")


def test_secret_file(tmp_path: Path) -> None:
    (tmp_path / "ami.secret").write_text("from-file\n")
    cfg = load_config(write(tmp_path, "pbx:\n  - {name: x, secret_file: ami.secret}\n"))
    assert cfg.pbxs[0].secret == Secret("from-file")
    assert repr(cfg.pbxs[0].secret) == "Secret('***')"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), ("90s", 90.0), ("15m", 900.0), ("4h", 14400.0), ("1d", 86400.0), ("500ms", 0.5)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_web_origin_and_proxy_settings(tmp_path: Path) -> None:
    assert load_config(None).allowed_origins == () and not load_config(None).trust_forwarded_proto
    cfg = load_config(
        write(
            tmp_path,
            "web:\n  allowed_origins: [https://wall.example.com]\n  trust_forwarded_proto: true\n",
        )
    )
    assert cfg.allowed_origins == ("https://wall.example.com",) and cfg.trust_forwarded_proto
    with pytest.raises(ConfigError, match=r"web\.trust_forwarded_proto: expected bool"):
        load_config(write(tmp_path, "web:\n  trust_forwarded_proto: sometimes\n"))
