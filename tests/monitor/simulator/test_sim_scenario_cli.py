"""Scenario files and the ``ringwatch simulate`` command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from collectors.ami.parser import parse_all
from monitor.cli.main import cli
from monitor.cli.simulate_cmd import parse_duration, parse_listen
from monitor.errors import ConfigError, InputError
from monitor.simulator import ContactCentre, load_scenario

GOOD = """\
seed: 42
recordings_dir: /srv/rec
agent_defaults: {talk_seconds: 90, hold_probability: 0}
agents:
  - {ext: 201, name: Alice}
  - {ext: "202", name: Bob, behaviour: {talk_seconds: 300}}
queues:
  - name: sales
    did: "02079460100"
    agents: [201, "202"]
    strategy: leastrecent
    arrivals_per_hour: {"9-16": 40, "17": 10}
extensions:
  - {ext: "300", name: Reception, did: "02079460300"}
traffic: {direct_per_hour: 2, internal_per_hour: 0, outbound_per_hour: 0}
"""


def test_load_good_scenario(tmp_path: Path) -> None:
    path = tmp_path / "centre.yml"
    path.write_text(GOOD)
    sc = load_scenario(path)
    assert sc.seed == 42
    cfg = sc.config
    assert cfg.recordings_dir == "/srv/rec"
    assert cfg.queues[0].agents == ("201", "202")
    assert cfg.queues[0].arrivals_per_hour[9] == 40 and cfg.queues[0].arrivals_per_hour[17] == 10
    assert cfg.queues[0].arrivals_per_hour[8] == 0
    assert cfg.agents[0].behaviour.talk_seconds == 90
    assert cfg.agents[1].behaviour.talk_seconds == 300
    engine = ContactCentre(cfg, seed=1, start=1_767_258_000.0)  # 09:00 UTC
    engine.run_until(engine.now + 3600)
    assert any(t.queue == "sales" for t in engine.truth)


def test_bad_scenario_lists_every_problem_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        "agents:\n"
        "  - {ext: 201, name: A, behavior: {}}\n"
        "queues:\n"
        "  - name: q\n"
        "    did: '1'\n"
        "    agents: [201, 999]\n"
        "    strategy: ringall\n"
        "    arrivals_per_hour: [1, 2]\n"
    )
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    text = "\n".join(err.value.problems)
    assert f"{path}:2: agents[0].behavior: unknown key (did you mean 'behaviour'?)" in text
    assert f"{path}:7: queues[0].strategy: unknown strategy 'ringall'" in text
    assert f"{path}:8: queues[0].arrivals_per_hour: a list of rates must hold exactly 24" in text
    assert "agent '999' is not in agents:" in text


def test_parse_helpers() -> None:
    assert parse_duration("1h") == 3600 and parse_duration("2h30m") == 9000
    assert parse_duration("90") == 90 and parse_duration("15m") == 900
    assert parse_listen("127.0.0.1:5038") == ("127.0.0.1", 5038)
    assert parse_listen("[::1]:5039") == ("::1", 5039)
    with pytest.raises(InputError, match="90x"):
        parse_duration("90x")
    with pytest.raises(InputError, match="HOST:PORT"):
        parse_listen("localhost")


def test_cli_transcript_is_deterministic_and_parseable(tmp_path: Path) -> None:
    runner = CliRunner()
    outs = []
    for name in ("a.ami", "b.ami"):
        out = tmp_path / name
        result = runner.invoke(
            cli, ["simulate", "--transcript", str(out), "--duration", "30m", "--seed", "9"]
        )
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    msgs = list(parse_all(outs[0]))
    assert len(msgs) > 200 and all(m.event for m in msgs)
    assert all(m.get("Timestamp") for m in msgs)
    bare = tmp_path / "bare.ami"
    runner.invoke(
        cli, ["simulate", "--transcript", str(bare), "--duration", "5m", "--no-timestamps"]
    )
    assert not any(m.get("Timestamp") for m in parse_all(bare.read_bytes()))


def test_cli_server_needs_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RINGWATCH_SIM_SECRET", raising=False)
    result = CliRunner().invoke(cli, ["simulate", "--listen", "127.0.0.1:0"])
    assert result.exit_code != 0
    assert "RINGWATCH_SIM_SECRET" in str(result.exception)


def test_cli_server_runs_for_a_bounded_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RINGWATCH_SIM_SECRET", "x")
    result = CliRunner().invoke(
        cli, ["simulate", "--listen", "127.0.0.1:0", "--run-for", "0.3", "--speed", "60"]
    )
    assert result.exit_code == 0, result.output
    assert "listening on 127.0.0.1:" in result.output
