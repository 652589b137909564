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


# ---- ranges (issue 20 item 7) -----------------------------------------------------------------

_RANGE_CASES = [
    ({"pbx": [{"ping_interval": 0}]}, "pbx[0].ping_interval: must be more than 0 s"),
    ({"pbx": [{"ping_interval": "-1s"}]}, "pbx[0].ping_interval: expected a duration"),
    ({"pbx": [{"ping_interval": "2h"}]}, "pbx[0].ping_interval: must be more than 0 s and at"),
    ({"pbx": [{"ping_timeout": 0}]}, "pbx[0].ping_timeout: must be more than 0 s"),
    ({"pbx": [{"reconnect_delays": []}]}, "pbx[0].reconnect_delays: expected a list"),
    ({"pbx": [{"reconnect_delays": [1, 0]}]}, "pbx[0].reconnect_delays[1]: must be more than 0"),
    ({"pbx": [{"reconnect_max": 0}]}, "pbx[0].reconnect_max: must be more than 0 s"),
    ({"pbx": [{"port": 0}]}, "pbx[0].port: 0 is not a TCP port"),
    ({"tracker": {"stale_after": 0}}, "tracker.stale_after: must be more than 0 s"),
    ({"tracker": {"outside_min_digits": 0}}, "tracker.outside_min_digits: must be 1 to 32"),
    ({"store": {"retention_days": 0}}, "store.retention_days: must be at least 1"),
    ({"store": {"retention_days": -5}}, "store.retention_days: must be at least 1"),
    ({"web": {"listen": "127.0.0.1:70000"}}, "web.listen: 70000 is not a TCP port"),
    ({"qa": {"sample_per_agent_per_week": -1}}, "qa.sample_per_agent_per_week: must be 0 to 100"),
    ({"qa": {"sample_per_agent_per_week": 101}}, "qa.sample_per_agent_per_week: must be 0 to 100"),
    ({"qa": {"sample_per_agent_per_week": "2"}}, "qa.sample_per_agent_per_week: expected int"),
    ({"qa": {"sample_per_week": 2}}, "qa.sample_per_week: unknown key"),
]


def test_qa_sampling_key_and_its_default() -> None:
    """Issue 19, item 7: off unless configured."""
    from monitor.config import build_config

    assert build_config({}).qa_sample_per_agent_per_week == 0
    assert build_config({"qa": {"sample_per_agent_per_week": 2}}).qa_sample_per_agent_per_week == 2


@pytest.mark.parametrize(("raw", "message"), _RANGE_CASES, ids=[m for _, m in _RANGE_CASES])
def test_numbers_out_of_range_are_errors_with_their_key_path(raw: dict, message: str) -> None:
    from monitor.config import build_config

    with pytest.raises(ConfigError) as info:
        build_config(raw)
    assert any(p.startswith(message) for p in info.value.problems), info.value.problems


def test_link_settings_and_their_defaults() -> None:
    from monitor.config import build_config

    entry = {"name": "a", "ping_interval": "2s", "ping_timeout": "1s",
             "reconnect_delays": ["250ms", 1], "reconnect_max": "30s"}  # fmt: skip
    cfg = build_config({"pbx": [entry]})
    pbx = cfg.pbxs[0]
    assert (pbx.ping_interval, pbx.ping_timeout) == (2.0, 1.0)
    assert (pbx.reconnect_delays, pbx.reconnect_max) == ((0.25, 1.0), 30.0)
    default = build_config({"pbx": [{"name": "b"}]}).pbxs[0]
    assert default.ping_interval + default.ping_timeout < 10.0  # a silent link found < 10 s
    assert (default.reconnect_delays, default.reconnect_max) == ((0.5, 1.0, 2.0, 5.0), 15.0)
