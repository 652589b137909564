"""The lab's building blocks for scenarios: SIPp phones, shared contexts and endpoints, queue
and agent dialplan, and the two usual drivers (an AMI-originated caller, a SIPp caller)."""

from __future__ import annotations

from collections.abc import Callable

from tests.lab import sipp
from tests.lab.lab import Lab, Scenario

__all__ = [
    "PHONES",
    "SCRIPT_TOLERANCE",
    "common_config",
    "phones_config",
]

SCRIPT_TOLERANCE = 0.6

# SIPp phones: endpoint name -> (scenario name, behaviour xml)
PHONES: dict[str, Callable[[], str]] = {
    "agent-q": lambda: sipp.uas_answer(3000),
    "agent-d1": lambda: sipp.uas_answer(3000),
    "agent-d2": sipp.uas_ring,
    "agent-busy": sipp.uas_busy,
    "agent-c": sipp.uas_ring,
    "agent-h": lambda: sipp.uas_answer(1000),
    "agent-bx": lambda: sipp.uas_answer(1000),
    "trunk": lambda: sipp.uas_answer(2000),
    "agent-live": lambda: sipp.uas_answer(1000),
}


def common_config() -> tuple[str, str]:
    """Contexts and endpoints every scenario shares: (extensions, pjsip)."""
    ext = """
[agents]
exten => nobody,1,Wait(120)
 same => n,Hangup()

[lab-phones]
; an AMI-originated caller's phone: Local/9<seconds>@lab-phones hangs up after <seconds>
exten => _9.,1,Answer()
 same => n,Wait(${EXTEN:1})
 same => n,Hangup()

[default]
exten => s,1,Hangup()
"""
    pj = """
[pstn]
type = endpoint
context = from-pstn
disallow = all
allow = ulaw
direct_media = no
send_connected_line = no
rtp_symmetric = yes
[pstn]
type = identify
endpoint = pstn
match = 127.0.0.1
"""
    return ext, pj


def phones_config(port_of: Callable[[str], int]) -> str:
    out = []
    for name in PHONES:
        out.append(f"""
[{name}]
type = aor
contact = sip:{name}@127.0.0.1:{port_of(name)}
max_contacts = 1
[{name}]
type = endpoint
context = from-internal
aors = {name}
disallow = all
allow = ulaw
direct_media = no
send_connected_line = no
send_pai = no
rtp_symmetric = yes
""")
    return "\n".join(out)


def _phone(lab: Lab, sc: Scenario, name: str) -> None:
    lab.sipp_phone(sc, name, PHONES[name]())


# ---- queue calls (AMI-originated Local callers, Local members) --------------------------


def _queue(
    name: str, strategy: str, members: list[tuple[str, str]], timeout: int = 20, **options: str
) -> str:
    """A queue's section; ``options`` override the defaults (``leavewhenempty="yes"``)."""
    settings = {"strategy": strategy, "timeout": str(timeout), "retry": "1", "wrapuptime": "0",
                "ringinuse": "yes", "servicelevel": "20", "announce-holdtime": "no",
                "joinempty": "yes", "leavewhenempty": "no", "setinterfacevar": "yes",
                "reportholdtime": "no", "autofill": "yes"}  # fmt: skip
    settings |= options
    lines = [f"[{name}]", *(f"{k} = {v}" for k, v in settings.items())]
    lines += [f"member => {iface},0,{member}" for iface, member in members]
    return "\n".join(lines) + "\n"


def _caller_queue(exten: str, queue: str) -> str:
    return f"""
[callers]
exten => {exten},1,Answer()
 same => n,Queue({queue},,,,60)
 same => n,Hangup()
"""


def _agent(exten: str, ring: float, talk: float) -> str:
    return f"""
[agents]
exten => {exten},1,Wait({ring:g})
 same => n,Answer()
 same => n,Wait({talk:g})
 same => n,Hangup()
"""


def _orig(exten: str, hold_up: int, phone: str | None = None) -> Callable[[Lab, Scenario], None]:
    """An AMI-originated Local caller (up ``hold_up`` s), after starting SIPp ``phone``."""

    def drive(lab: Lab, sc: Scenario) -> None:
        if phone is not None:
            _phone(lab, sc, phone)
        lab.originate(exten, sc.caller, hold_up)

    return drive


def _sip(
    exten: str, phone: str, steps: list[tuple[str, object]], cancel_after_ms: int | None = None
) -> Callable[[Lab, Scenario], None]:
    """A SIPp caller through the ``pstn`` endpoint to ``exten``@from-pstn, after starting
    SIPp ``phone``."""

    def drive(lab: Lab, sc: Scenario) -> None:
        _phone(lab, sc, phone)
        lab.sipp_call(
            sc, "caller", sipp.uac(sc.caller, exten, steps, cancel_after_ms=cancel_after_ms)
        )

    return drive
