"""Web settings: recordings directory, cookies, review checklist, wallboard standards."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from monitor.web.live import DEFAULT_STANDARDS, TileStandard

__all__ = ["DEFAULT_CHECKLIST", "ChecklistItem", "WebSettings"]


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One line of the review score sheet; ``key`` is stored, ``label`` is shown.

    ``measured_by`` names the checks (rules/README.md catalogue) whose standards measure this
    item: the review form starts with the item answered from them (a breach: no; met: yes)
    with the evidence (monitor/web/prefill.py). Items no check measures start unanswered."""

    key: str
    label: str
    measured_by: tuple[str, ...] = ()


DEFAULT_CHECKLIST: tuple[ChecklistItem, ...] = (
    ChecklistItem("answered_promptly", "Answered within three rings", ("rings_to_answer",)),
    ChecklistItem("greeting", "Greeted with own name and the company name"),
    ChecklistItem(
        "no_dead_air",
        "No dead air (silences explained: 'one moment while I check')",
        ("dead_air",),
    ),
    ChecklistItem("asked_before_hold", "Asked permission before putting the caller on hold"),
    ChecklistItem(
        "checked_back_on_hold", "Checked back with the caller during a long hold", ("longest_hold",)
    ),
    ChecklistItem("no_overtalk", "Did not talk over the caller", ("overtalk",)),
    ChecklistItem("used_name", "Used the caller's name; no jargon"),
    ChecklistItem("warm_transfer", "Transfers announced and explained (no cold transfer)"),
    ChecklistItem("offered_further_help", "Offered further help before closing"),
    ChecklistItem("caller_hung_up_first", "Let the caller hang up first"),
)


@dataclass(frozen=True, slots=True)
class WebSettings:
    """How the web tier behaves. ``secure_cookies=None`` means "Secure when served over https"
    (the request scheme, as set by uvicorn's ``--proxy-headers`` behind a TLS proxy)."""

    recordings_dir: Path | None = None
    # where the PBX writes recordings (absolute MIXMONITOR_FILENAME paths start here); the same
    # files are visible to ringwatch under ``recordings_dir``
    pbx_recordings_dir: str | None = "/var/spool/asterisk/monitor"
    secure_cookies: bool | None = None
    session_ttl_seconds: float = 8 * 3600.0
    checklist: tuple[ChecklistItem, ...] = DEFAULT_CHECKLIST
    wallboard_standards: dict[str, TileStandard] = field(
        default_factory=lambda: dict(DEFAULT_STANDARDS)
    )
    wallboard_interval_seconds: float = 0.5  # an event shows within 1 s (issue 19)
    wallboard_stream_max_seconds: float = 300.0
    page_size: int = 50
    site_name: str = "ringwatch"
    # the zone pages show times in, with its abbreviation ("BST"); ``site.timezone``
    timezone: str = "UTC"
    # second 0 of a recording the audio analysis has not dated (``audio.recording_start``):
    # "answer" (MixMonitor started by Queue()/Dial()) or "start" (the call's first channel)
    recording_start: str = "answer"
    # login protection (monitor/web/throttle.py, docs/security.md)
    login_free_failures_user: int = 5
    login_free_failures_address: int = 20
    login_lock_base_seconds: float = 1.0
    login_lock_max_seconds: float = 900.0
    login_forget_seconds: float = 900.0
    login_max_concurrent: int = 2
    login_max_waiting: int = 6
    login_wait_seconds: float = 5.0
    # state-changing requests whose Origin (or Referer) is another site are refused; list
    # extra origins allowed to post here, e.g. ("https://wallboard.example.com",)
    allowed_origins: tuple[str, ...] = ()
    # behind a TLS proxy that sets X-Forwarded-Proto (and strips it from clients): trust it
    # for HSTS, the same-origin check and Secure cookies (else run uvicorn --proxy-headers)
    trust_forwarded_proto: bool = False
    hsts_max_age_seconds: int = 31_536_000  # Strict-Transport-Security when served over https
    max_body_bytes: int = 256 * 1024  # larger request bodies are refused with 413
