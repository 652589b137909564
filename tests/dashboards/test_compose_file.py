"""docker-compose.yml and the files it mounts. No Docker engine runs here, so this checks the
structure: services and profiles, every mounted file exists, and each mounted config is valid
for the tool that reads it (promtool, amtool, ringwatch's own config loader)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.config import load_config

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
D = ROOT / "dashboards"
_DEFAULT = re.compile(r"\$\{[A-Z_]+:-([^}]+)\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def bind_mounts(service: dict[str, Any]) -> list[tuple[Path, str]]:
    out = []
    for spec in service.get("volumes", []):
        source, target = _DEFAULT.sub(r"\1", spec).split(":")[:2]
        if source.startswith("."):
            out.append((ROOT / source, target))
    return out


def test_services_and_profiles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {
        "asterisk",
        "simulator",
        "ringwatch",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    assert services["asterisk"]["profiles"] == ["asterisk"]
    assert services["simulator"]["profiles"] == ["demo"]
    for name in ("ringwatch", "prometheus", "alertmanager", "grafana"):
        assert "profiles" not in services[name], name
    # whichever profile runs, ringwatch reaches the PBX as "pbx"
    for name in ("asterisk", "simulator"):
        assert services[name]["networks"]["default"]["aliases"] == ["pbx"]
    assert services["simulator"]["command"][0] == "simulate"
    assert "0.0.0.0:5038" in services["simulator"]["command"]
    assert re.fullmatch(r"andrius/asterisk:\d+\.\d+\.\d+_debian-\w+", services["asterisk"]["image"])
    for name in ("prometheus", "alertmanager", "grafana"):
        assert not services[name]["image"].endswith(":latest"), name


def test_every_mounted_file_exists(compose: dict[str, Any]) -> None:
    mounts = [m for s in compose["services"].values() for m in bind_mounts(s)]
    assert len(mounts) >= 12
    missing = [str(src.relative_to(ROOT)) for src, _ in mounts if not src.exists()]
    assert missing == []
    build = compose["services"]["ringwatch"]["build"]
    assert (ROOT / build["context"] / build["dockerfile"]).is_file()
    volumes = set(compose["volumes"])
    for service in compose["services"].values():
        for spec in service.get("volumes", []):
            source = spec.split(":")[0]
            if not source.startswith((".", "$")):
                assert source in volumes, spec


def test_ringwatch_config_is_valid_and_matches_the_stack(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RINGWATCH_AMI_SECRET", "test")
    config = load_config(D / "ringwatch/ringwatch.yml")
    assert [p.host for p in config.pbxs] == ["pbx"]
    assert config.web_listen == "0.0.0.0:8080"
    prom = yaml.safe_load((D / "prometheus/prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in prom["scrape_configs"]}
    assert jobs["ringwatch"]["static_configs"][0]["targets"] == ["ringwatch:8080"]
    ringwatch = compose["services"]["ringwatch"]
    assert "RINGWATCH_AMI_SECRET" in ringwatch["environment"]
    assert "8080:8080" in ringwatch["ports"]
    queues_conf = (D / "asterisk/queues.conf").read_text()
    for queue in config.queues:
        assert f"[{queue}]" in queues_conf, queue


def test_demo_simulator_writes_recordings_ringwatch_measures(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RINGWATCH_AMI_SECRET", "test")
    config = load_config(D / "ringwatch/ringwatch.yml")
    assert config.audio_enabled and config.recordings_dir is not None
    simulator, ringwatch = compose["services"]["simulator"], compose["services"]["ringwatch"]
    command = simulator["command"]
    written = command[command.index("--recordings") + 1]
    # the same volume at the same path in both: greeting and dead air are measured in the demo
    assert f"recordings:{written}" in simulator["volumes"]
    assert f"recordings:{config.recordings_dir}:ro" in ringwatch["volumes"]
    assert written == str(config.recordings_dir) == config.pbx_recordings_dir
    assert int(command[command.index("--keep-recordings") + 1]) >= 100
    comment = (D / "ringwatch/ringwatch.yml").read_text().split("site:")[0]
    assert "asterisk service with\n# the asterisk profile" in comment
    assert "default profile" not in comment


def test_prometheus_config_passes_promtool(tmp_path: Path) -> None:
    prom = yaml.safe_load((D / "prometheus/prometheus.yml").read_text())
    assert prom["rule_files"] == ["/etc/prometheus/rules/ringwatch.rules.yml"]
    prom["rule_files"] = [str(D / "alerts/ringwatch.rules.yml")]  # where compose mounts it from
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(prom))
    out = subprocess.run(
        ["/usr/bin/promtool", "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 11 rules found" in out.stdout
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"
    ]


def test_prometheus_mounts_the_generated_rules(compose: dict[str, Any]) -> None:
    mounts = dict(bind_mounts(compose["services"]["prometheus"]))
    assert mounts[D / "alerts/ringwatch.rules.yml"] == "/etc/prometheus/rules/ringwatch.rules.yml"
    assert "--enable-feature=exemplar-storage" in compose["services"]["prometheus"]["command"]


def test_alertmanager_config_passes_amtool_and_routes_by_severity() -> None:
    path = D / "alertmanager/alertmanager.yml"
    out = subprocess.run(
        ["/usr/bin/amtool", "check-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stdout + out.stderr
    am = yaml.safe_load(path.read_text())
    routes = {tuple(r["matchers"]): r for r in am["route"]["routes"]}
    assert routes[('severity="critical"',)]["receiver"] == "on-call"
    assert routes[('severity="warning"',)]["active_time_intervals"] == ["business-hours"]
    assert routes[('business_hours="only"',)]["mute_time_intervals"] == ["outside-business-hours"]
    names = {t["name"] for t in am["time_intervals"]}
    assert {"business-hours", "outside-business-hours"} <= names


def test_grafana_provisioning(compose: dict[str, Any]) -> None:
    ds = yaml.safe_load((D / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = ds["datasources"]
    assert (source["type"], source["url"]) == ("prometheus", "http://prometheus:9090")
    provider = yaml.safe_load((D / "provisioning/dashboards/ringwatch.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    mounts = dict(bind_mounts(compose["services"]["grafana"]))
    assert mounts[D / "grafana"] == path
    assert sorted(p.name for p in (D / "grafana").glob("*.json")) == [
        "ringwatch-operations.json",
        "ringwatch-qa.json",
        "ringwatch-wallboard.json",
    ]


def test_asterisk_snippets_give_ringwatch_what_it_needs() -> None:
    manager = (D / "asterisk/manager.conf").read_text()
    settings = [ln.split(";")[0].strip() for ln in manager.splitlines()]
    assert "timestampevents = yes" in settings
    user = manager.split("[ringwatch]", 1)[1]
    user_lines = [ln.split(";")[0].strip() for ln in user.splitlines()]
    # dialplan: VarSet MIXMONITOR_FILENAME (recordings) and Newexten VoiceMail (outcome)
    assert "read = call,agent,user,cdr,system,dialplan" in user_lines
    writes = [ln for ln in user_lines if re.match(r"write\s*=", ln)]
    assert writes == ["write = reporting"], "only CoreShowChannels (resync) may be sent"
    filters = [ln for ln in user_lines if ln.startswith("eventfilter")]
    assert not [f for f in filters if "VarSet" in f or "Newexten" in f], filters
    assert not [ln for ln in settings if ln.startswith("secret")], "no secret in manager.conf"
    ext = (D / "asterisk/extensions.conf").read_text()
    assert "MixMonitor(${RINGWATCH_RECORDING}" in ext
    assert re.search(r"UserEvent\(CallbackPromise,Number: \$\{[A-Z_]+\},DueIn: \$\{[A-Z_]+\}", ext)
    assert "eventwhencalled = yes" in (D / "asterisk/queues.conf").read_text()


def test_alertmanager_groups_per_pbx_and_queue_and_inhibits_per_pbx() -> None:
    """Window alerts are per PBX and queue, so are notifications; an inhibition never mutes
    another PBX's alerts (every inhibit rule is ``equal: [pbx]``)."""
    am = yaml.safe_load((D / "alertmanager/alertmanager.yml").read_text())
    assert {"alertname", "pbx", "queue"} <= set(am["route"]["group_by"])
    for rule in am["inhibit_rules"]:
        assert "pbx" in rule.get("equal", []), rule
