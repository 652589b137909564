"""``ringwatch.yml``: typed, validated at start, every error listed with its key path.

Every key is documented in docs/configuration.md. Secrets (AMI secret, Grafana token) are never
written in the file itself: the file names an environment variable (``secret_env``) or a file
(``secret_file``) and the value is held in a ``Secret`` whose repr never shows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from monitor.config_check import Checker as _Checker
from monitor.config_check import Secret, parse_duration, read_secret
from monitor.errors import ConfigError
from monitor.paths import default_store_url
from monitor.tracker.settings import DEFAULT_INBOUND_CONTEXTS, DEFAULT_INTERNAL_CONTEXTS

__all__ = [
    "CADENCES",
    "MAX_SAMPLES_PER_WEEK",
    "Config",
    "PbxConfig",
    "Secret",
    "load_config",
    "parse_duration",
]

# One ring cycle (seconds) of the ringback tone callers hear, by ISO country code.
# Source: asterisk configs/samples/indications.conf.sample (see reference/ring-cadences.md).
CADENCES: dict[str, float] = {
    "AT": 6.0, "AU": 3.0, "BG": 5.0, "BR": 5.0, "BE": 4.0, "CH": 5.0, "CL": 4.0, "CN": 5.0,
    "CZ": 5.0, "DE": 5.0, "DK": 5.0, "EE": 5.0, "ES": 4.5, "FI": 5.0, "FR": 5.0, "GR": 5.0,
    "HU": 5.0, "ID": 5.0, "IL": 4.0, "IN": 3.0, "IT": 5.0, "LT": 5.0, "JP": 3.0, "MX": 5.0,
    "MY": 3.0, "NL": 5.0, "NO": 5.0, "NZ": 3.0, "PH": 5.0, "PL": 5.0, "PT": 6.0, "RU": 5.0,
    "SE": 6.0, "SG": 3.0, "TH": 6.0, "GB": 3.0, "UK": 3.0, "US": 6.0, "CA": 6.0, "TW": 3.0,
    "VE": 5.0, "ZA": 3.0,
}  # fmt: skip

# Reconnect delays (the same values as collectors.ami.backoff, which monitor does not import).
DEFAULT_RECONNECT_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0, 5.0)
DEFAULT_RECONNECT_MAX = 15.0
MAX_SAMPLES_PER_WEEK = 100  # qa.sample_per_agent_per_week: 0..100


@dataclass(frozen=True, slots=True)
class PbxConfig:
    name: str = "default"
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "ringwatch"
    secret: Secret | None = None
    tls: bool = False
    tls_verify: bool = True
    auth: str = "plain"  # plain | md5
    inbound_contexts: tuple[str, ...] = DEFAULT_INBOUND_CONTEXTS
    internal_contexts: tuple[str, ...] = DEFAULT_INTERNAL_CONTEXTS
    ping_interval: float = 5.0  # Ping every N s; a silent link is found within
    ping_timeout: float = 3.0  # ping_interval + ping_timeout (8 s by default)
    reconnect_delays: tuple[float, ...] = DEFAULT_RECONNECT_DELAYS
    reconnect_max: float = DEFAULT_RECONNECT_MAX


@dataclass(frozen=True, slots=True)
class Config:
    country: str = "US"
    timezone: str = "UTC"
    pbxs: tuple[PbxConfig, ...] = (PbxConfig(),)
    stale_after_seconds: float = 4 * 3600.0
    outside_min_digits: int = 7
    rules_dir: Path = Path("rules")
    store_url: str = field(default_factory=default_store_url)  # in the data directory
    retention_days: int = 400
    web_listen: str = "127.0.0.1:8080"
    web_enabled: bool = True
    secure_cookies: bool = False
    allowed_origins: tuple[str, ...] = ()
    trust_forwarded_proto: bool = False
    agent_label: bool = False
    queues: tuple[str, ...] = ()
    recordings_dir: Path | None = None
    audio_enabled: bool = False
    audio_pattern: str = "**/*{call_id}*.wav"
    pbx_recordings_dir: str = "/var/spool/asterisk/monitor"
    recording_start: str = "answer"
    audio_parties: tuple[str, ...] = ("caller", "agent")
    # ``agents:``: device -> agent (person) name, e.g. ("PJSIP/300", "Carol Clark")
    agent_devices: tuple[tuple[str, str], ...] = ()
    # ``qa.sample_per_agent_per_week``: random unflagged calls per agent per week (0: none)
    qa_sample_per_agent_per_week: int = 0
    source: Path | None = field(default=None, compare=False)

    @property
    def cadence_seconds(self) -> float:
        return CADENCES[self.country]


_TOP = {
    "site", "pbx", "tracker", "rules", "store", "web", "metrics", "audio", "queues", "agents",
    "qa",
}  # fmt: skip
_SITE = {"country", "timezone"}
_PBX = {
    "name", "host", "port", "username", "secret_env", "secret_file", "tls", "tls_verify",
    "auth", "inbound_contexts", "internal_contexts", "ping_interval", "ping_timeout",
    "reconnect_delays", "reconnect_max",
}  # fmt: skip
_TRACKER = {"stale_after", "outside_min_digits"}
_RULES = {"dir"}
_STORE = {"url", "retention_days"}
_WEB = {"listen", "enabled", "secure_cookies", "allowed_origins", "trust_forwarded_proto"}
_METRICS = {"agent_label"}
_QA = {"sample_per_agent_per_week"}
_AUDIO = {
    "enabled",
    "recordings_dir",
    "pattern",
    "pbx_recordings_dir",
    "recording_start",
    "parties",
}


def _agents(c: _Checker, value: object) -> tuple[tuple[str, str], ...]:
    """``agents:`` maps a device (the channel name without its -suffix: ``PJSIP/300``,
    ``SIP/alice``) to the person who uses it (docs/configuration.md)."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        c.problems.append(
            f"agents: expected a mapping of device to agent name (PJSIP/300: Carol Clark), "
            f"got {type(value).__name__}"
        )
        return ()
    out: list[tuple[str, str]] = []
    for device, name in value.items():
        path = f"agents.{device}"
        if (
            not isinstance(device, str)
            or "/" not in device
            or device.endswith("/")
            or re.search(r"-[0-9a-f]{8}$", device) is not None
        ):
            c.problems.append(
                f"{path}: the key must be a device as in a channel name, TECH/resource "
                "(PJSIP/300, SIP/alice), without the channel's -00000012 suffix"
            )
        elif not isinstance(name, str) or not name.strip():
            c.problems.append(f"{path}: expected the agent's name (a non-empty text), got {name!r}")
        else:
            out.append((device, name.strip()))
    return tuple(out)


def build_config(raw: object, base: Path = Path("."), source: Path | None = None) -> Config:
    """Validate a parsed YAML document into a Config; raise ConfigError listing every problem."""
    c = _Checker()
    top = c.keys("", raw, _TOP)
    site = c.keys("site", top.get("site"), _SITE)
    country = str(c.typed("site.country", site.get("country"), str, "US")).upper()
    if country not in CADENCES:
        c.problems.append(
            f"site.country: unknown country {country!r} (one of: {', '.join(sorted(CADENCES))})"
        )
        country = "US"
    timezone = c.typed("site.timezone", site.get("timezone"), str, "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        c.problems.append(f"site.timezone: unknown time zone {timezone!r} (e.g. Europe/London)")
    pbxs: list[PbxConfig] = []
    raw_pbx = top.get("pbx")
    if raw_pbx is not None and not isinstance(raw_pbx, list):
        c.problems.append("pbx: expected a list of PBX entries (- name: main ...)")
        raw_pbx = []
    names: set[str] = set()
    for i, entry in enumerate(raw_pbx or []):
        path = f"pbx[{i}]"
        d = c.keys(path, entry, _PBX)
        name = c.typed(f"{path}.name", d.get("name"), str, f"pbx{i + 1}")
        if name in names:
            c.problems.append(f"{path}.name: duplicate PBX name {name!r}")
        names.add(name)
        auth = c.typed(f"{path}.auth", d.get("auth"), str, "plain")
        if auth not in ("plain", "md5"):
            c.problems.append(f"{path}.auth: expected plain or md5, got {auth!r}")
        port = c.typed(f"{path}.port", d.get("port"), int, 5038)
        if not 0 < port < 65536:
            c.problems.append(f"{path}.port: {port} is not a TCP port (1-65535)")
        pbxs.append(
            PbxConfig(
                name=name,
                host=c.typed(f"{path}.host", d.get("host"), str, "127.0.0.1"),
                port=port,
                username=c.typed(f"{path}.username", d.get("username"), str, "ringwatch"),
                secret=read_secret(c, path, d, base),
                tls=c.typed(f"{path}.tls", d.get("tls"), bool, False),
                tls_verify=c.typed(f"{path}.tls_verify", d.get("tls_verify"), bool, True),
                auth=auth,
                inbound_contexts=c.strings(
                    f"{path}.inbound_contexts", d.get("inbound_contexts"), DEFAULT_INBOUND_CONTEXTS
                ),
                internal_contexts=c.strings(
                    f"{path}.internal_contexts",
                    d.get("internal_contexts"),
                    DEFAULT_INTERNAL_CONTEXTS,
                ),
                ping_interval=c.positive(
                    f"{path}.ping_interval",
                    c.duration(f"{path}.ping_interval", d.get("ping_interval"), 5.0),
                    low=0.0,
                    high=3600.0,
                    hint=" (a Ping every 5s is the default)",
                ),
                ping_timeout=c.positive(
                    f"{path}.ping_timeout",
                    c.duration(f"{path}.ping_timeout", d.get("ping_timeout"), 3.0),
                    high=600.0,
                ),
                reconnect_delays=c.durations(
                    f"{path}.reconnect_delays", d.get("reconnect_delays"), DEFAULT_RECONNECT_DELAYS
                ),
                reconnect_max=c.positive(
                    f"{path}.reconnect_max",
                    c.duration(f"{path}.reconnect_max", d.get("reconnect_max"), 15.0),
                    high=3600.0,
                ),
            )
        )
    tracker = c.keys("tracker", top.get("tracker"), _TRACKER)
    rules = c.keys("rules", top.get("rules"), _RULES)
    store = c.keys("store", top.get("store"), _STORE)
    web = c.keys("web", top.get("web"), _WEB)
    metrics = c.keys("metrics", top.get("metrics"), _METRICS)
    audio = c.keys("audio", top.get("audio"), _AUDIO)
    qa = c.keys("qa", top.get("qa"), _QA)
    rec_dir = c.typed("audio.recordings_dir", audio.get("recordings_dir"), str, None)
    pattern = c.typed("audio.pattern", audio.get("pattern"), str, "**/*{call_id}*.wav")
    if "{call_id}" not in pattern:
        c.problems.append(
            f"audio.pattern: must contain {{call_id}} (e.g. **/*{{call_id}}*.wav), got {pattern!r}"
        )
    rec_start = c.typed("audio.recording_start", audio.get("recording_start"), str, "answer")
    if rec_start not in ("answer", "start"):
        c.problems.append(f"audio.recording_start: expected answer or start, got {rec_start!r}")
    parties = c.strings("audio.parties", audio.get("parties"), ("caller", "agent"))
    if sorted(parties) != ["agent", "caller"]:
        c.problems.append(
            f"audio.parties: expected [caller, agent] in channel order, got {list(parties)}"
        )
    listen = c.typed("web.listen", web.get("listen"), str, "127.0.0.1:8080")
    if not re.match(r"^[^:]+:\d+$", listen):
        c.problems.append(f"web.listen: expected HOST:PORT, got {listen!r}")
    elif not 0 <= int(listen.rsplit(":", 1)[1]) < 65536:
        c.problems.append(
            f"web.listen: {listen.rsplit(':', 1)[1]} is not a TCP port (0-65535; 0: any free one)"
        )
    stale_after = c.positive(
        "tracker.stale_after",
        c.duration("tracker.stale_after", tracker.get("stale_after"), 14400.0),
        hint=" (how long a call may show no event before it closes as incomplete, e.g. 4h)",
    )
    min_digits = c.typed("tracker.outside_min_digits", tracker.get("outside_min_digits"), int, 7)
    if not 1 <= min_digits <= 32:
        c.problems.append(f"tracker.outside_min_digits: must be 1 to 32, got {min_digits}")
    retention = c.typed("store.retention_days", store.get("retention_days"), int, 400)
    if retention < 1:
        c.problems.append(
            f"store.retention_days: must be at least 1 (days kept), got {retention}; "
            "leave the key out to keep 400 days"
        )
    cfg = Config(
        country=country,
        timezone=timezone,
        pbxs=tuple(pbxs) or (PbxConfig(),),
        stale_after_seconds=stale_after,
        outside_min_digits=min_digits,
        rules_dir=base / c.typed("rules.dir", rules.get("dir"), str, "rules"),
        store_url=c.typed("store.url", store.get("url"), str, default_store_url()),
        retention_days=retention,
        web_listen=listen,
        web_enabled=c.typed("web.enabled", web.get("enabled"), bool, True),
        secure_cookies=c.typed("web.secure_cookies", web.get("secure_cookies"), bool, False),
        allowed_origins=c.strings("web.allowed_origins", web.get("allowed_origins"), ()),
        trust_forwarded_proto=c.typed(
            "web.trust_forwarded_proto", web.get("trust_forwarded_proto"), bool, False
        ),
        agent_label=c.typed("metrics.agent_label", metrics.get("agent_label"), bool, False),
        queues=c.strings("queues", top.get("queues"), ()),
        recordings_dir=None if rec_dir is None else base / rec_dir,
        audio_enabled=c.typed("audio.enabled", audio.get("enabled"), bool, False),
        audio_pattern=pattern,
        pbx_recordings_dir=c.typed(
            "audio.pbx_recordings_dir",
            audio.get("pbx_recordings_dir"),
            str,
            "/var/spool/asterisk/monitor",
        ),
        recording_start=rec_start,
        audio_parties=parties,
        agent_devices=_agents(c, top.get("agents")),
        qa_sample_per_agent_per_week=c.int_range(
            "qa.sample_per_agent_per_week",
            qa.get("sample_per_agent_per_week"),
            0,
            MAX_SAMPLES_PER_WEEK,
            0,
            hint=" (calls per agent per week picked for review; 0 turns sampling off)",
        ),
        source=source,
    )
    if c.problems:
        where = str(source) if source else "configuration"
        raise ConfigError(f"{where}: {len(c.problems)} problem(s)", c.problems)
    return cfg


def load_config(path: Path | None) -> Config:
    """Read and validate ``ringwatch.yml``; None gives the embedded defaults."""
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration file: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{pos}: not valid YAML: {exc}") from exc
    return build_config(raw or {}, base=path.parent, source=path)
