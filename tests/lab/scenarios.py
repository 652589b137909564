"""The lab's call flows, each with its scripted timings (the truth ringwatch must find).

Adding a scenario: write a ``Scenario`` with its own extensions (contexts ``callers`` for
AMI-originated callers, ``from-pstn`` for SIPp callers, ``agents`` for Local-channel
phones), queues and phones (SIPp UAS endpoints), a ``drive`` function, and ``expect``:

- ``outcome`` (exact), ``agent``, ``rna``, ``transfers``, ``hold_count``, ``direction``,
  ``findings`` (rule ids, exact);
- scripted seconds ``ring``, ``wait``, ``talk``, ``holds`` (list), compared with
  ``SCRIPT_TOLERANCE`` (call set-up takes some milliseconds);
- and the AMI truth (tests/lab/truth.py) is always compared within ±50 ms.

Unique caller numbers (``41555501NN``) find each call's record in the shared batch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from tests.lab import sipp
from tests.lab.asterisk import SOUNDS
from tests.lab.dialplan import (
    PHONES,
    SCRIPT_TOLERANCE,
    _agent,
    _caller_queue,
    _orig,
    _phone,
    _queue,
    _sip,
    common_config,
    phones_config,
)
from tests.lab.lab import Lab, Scenario
from tests.lab.rtp import wav_to_pcap
from tests.lab.scenarios_queue import QUEUE_SCENARIOS

__all__ = ["PHONES", "SCENARIOS", "SCRIPT_TOLERANCE", "common_config", "phones_config"]

SCENARIOS: list[Scenario] = [
    Scenario(
        "queue_ringall",
        "4155550101",
        _orig("q-ringall", 90),
        extensions=_caller_queue("q-ringall", "q-ringall") + _agent("ra-ans", 3, 20),
        queues=_queue(
            "q-ringall",
            "ringall",
            [("Local/ra-ans@agents/n", "Alice"), ("Local/nobody@agents/n", "Nobody")],
        ),
        expect={
            "outcome": "answered",
            "agent": "Alice",
            "ring": 3.0,
            "wait": 3.0,
            "talk": 20.0,
            "ast_ring": 3,
            "ast_hold": 3,
            "ast_talk": 20,
            "findings": set(),
        },
    ),
    Scenario(
        "queue_linear_rona",
        "4155550102",
        _orig("q-linear", 90),
        extensions=_caller_queue("q-linear", "q-linear") + _agent("lin-ans", 2, 10),
        queues=_queue(
            "q-linear",
            "linear",
            [("Local/nobody@agents/n", "Nobody"), ("Local/lin-ans@agents/n", "Bob")],
            timeout=4,
        ),
        expect={
            "outcome": "answered",
            "agent": "Bob",
            "rna": 1,
            "talk": 10.0,
            "findings": {"no-ring-no-answer"},
        },
    ),
    Scenario(
        "queue_rrmemory",
        "4155550103",
        _orig("q-rr", 90),
        extensions=_caller_queue("q-rr", "q-rr") + _agent("rr-a", 2, 8) + _agent("rr-b", 2, 8),
        queues=_queue(
            "q-rr", "rrmemory", [("Local/rr-a@agents/n", "Carol"), ("Local/rr-b@agents/n", "Dave")]
        ),
        expect={
            "outcome": "answered",
            "ring": 2.0,
            "wait": 2.0,
            "talk": 8.0,
            "rna": 0,
            "ast_ring": 2,
            "ast_hold": 2,
            "ast_talk": 8,
            "findings": set(),
        },
    ),
    Scenario(
        "queue_pjsip_member",
        "4155550104",
        _orig("q-pj", 15, phone="agent-q"),
        extensions=_caller_queue("q-pj", "q-pj"),
        queues=_queue("q-pj", "ringall", [("PJSIP/agent-q", "Erin")]),
        expect={
            "outcome": "answered",
            "agent": "Erin",
            "ring": 3.0,
            "wait": 3.0,
            "talk": 12.0,
            "ast_ring": 3,
            "ast_hold": 3,
            "findings": set(),
        },
    ),
    Scenario(
        "abandon_short",
        "4155550105",
        _orig("q-ab", 3),
        extensions=_caller_queue("q-ab", "q-ab"),
        queues=_queue("q-ab", "ringall", [("Local/nobody@agents/n", "Nobody")], timeout=60),
        expect={"outcome": "abandoned", "wait": 3.0, "findings": set()},
    ),
    Scenario(
        "abandon_long",
        "4155550106",
        _orig("q-ab", 25),
        # waited past three rings (US: 18 s) for a person who never came: a breach of the
        # rings standard, as rules/README.md says (not "not applicable": issue 16 item 1)
        expect={"outcome": "abandoned", "wait": 25.0, "findings": {"answer-within-three-rings"}},
    ),
    Scenario(
        "direct_local_answered",
        "4155550107",
        _orig("d-local", 90),
        extensions="""
[callers]
exten => d-local,1,Dial(Local/104@agents,20)
 same => n,Hangup()
"""
        + _agent("104", 3, 30),
        expect={"outcome": "answered", "ring": 3.0, "talk": 30.0, "findings": set()},
    ),
    Scenario(
        "direct_local_unanswered",
        "4155550108",
        _orig("d-local-na", 90),
        extensions="""
[callers]
exten => d-local-na,1,Dial(Local/nobody@agents,8)
 same => n,Hangup()
""",
        expect={"outcome": "unanswered", "findings": set()},
    ),
    Scenario(
        "direct_pjsip_answered",
        "4155550109",
        _sip("d-pj", "agent-d1", [("talk", 10000), ("bye", None)]),
        extensions="""
[from-pstn]
exten => d-pj,1,Dial(PJSIP/agent-d1,20)
 same => n,Hangup()
""",
        expect={"outcome": "answered", "ring": 3.0, "talk": 10.0, "findings": set()},
    ),
    Scenario(
        "direct_pjsip_unanswered",
        "4155550110",
        _orig("d-pj-na", 90, phone="agent-d2"),
        extensions="""
[callers]
exten => d-pj-na,1,Dial(PJSIP/agent-d2,6)
 same => n,Hangup()
""",
        expect={"outcome": "unanswered", "findings": set()},
    ),
    Scenario(
        "busy_486",
        "4155550111",
        _orig("d-busy", 90, phone="agent-busy"),
        extensions="""
[callers]
exten => d-busy,1,Dial(PJSIP/agent-busy,20)
 same => n,Hangup()
""",
        expect={"outcome": "busy", "findings": set()},
    ),
    Scenario(
        "caller_cancel_sip",
        "4155550112",
        _sip("d-cancel", "agent-c", [], cancel_after_ms=4000),
        extensions="""
[from-pstn]
exten => d-cancel,1,Dial(PJSIP/agent-c,30)
 same => n,Hangup()
""",
        expect={"outcome": "unanswered", "findings": set()},
    ),
    Scenario(
        "caller_cancel_local",
        "4155550113",
        _orig("d-cancel-l", 4),
        extensions="""
[callers]
exten => d-cancel-l,1,Dial(Local/nobody@agents,30)
 same => n,Hangup()
""",
        expect={"outcome": "unanswered", "findings": set()},
    ),
    Scenario(
        "voicemail",
        "4155550114",
        _orig("vm", 10),
        extensions="""
[callers]
exten => vm,1,Dial(Local/nobody@agents,4)
 same => n,VoiceMail(200@default,u)
 same => n,Hangup()
""",
        expect={"outcome": "voicemail", "findings": set()},
    ),
    Scenario(
        "holds_reinvite",
        "4155550116",
        _sip(
            "d-hold",
            "agent-h",
            [
                ("talk", 2000),
                ("hold", None),
                ("talk", 4000),
                ("unhold", None),
                ("talk", 2000),
                ("hold", None),
                ("talk", 6000),
                ("unhold", None),
                ("talk", 2000),
                ("bye", None),
            ],
        ),
        extensions="""
[from-pstn]
exten => d-hold,1,Dial(PJSIP/agent-h,20)
 same => n,Hangup()
""",
        expect={
            "outcome": "answered",
            "ring": 1.0,
            "hold_count": 2,
            "holds": [4.0, 6.0],
            "findings": set(),
        },
    ),
    Scenario(
        "blind_transfer_refer",
        "4155550117",
        _sip("d-bx", "agent-bx", [("talk", 3000), ("refer", "bx-target")]),
        extensions="""
[from-pstn]
exten => d-bx,1,Dial(PJSIP/agent-bx,20)
 same => n,Hangup()
exten => bx-target,1,Dial(Local/bx2@agents,10)
 same => n,Hangup()
"""
        + _agent("bx2", 1, 4),
        expect={"outcome": "answered", "ring": 1.0, "transfers": 1, "findings": set()},
    ),
]


def _promise_drive(lab: Lab, sc: Scenario) -> None:
    """A call that promises a callback (UserEvent from the dialplan), then the agent's
    outbound call to that number through the PJSIP trunk (SIPp answers after 2 s)."""
    _phone(lab, sc, "trunk")
    mark = lab.ami.mark()
    lab.originate("promise", sc.caller, 30)
    lab.ami.wait_for(
        lambda m: m.get("Event") == "UserEvent" and m.get("UserEvent") == "CallbackPromise",
        20,
        mark,
    )
    lab.originate_app(f"Local/{sc.caller}@from-internal", "201", 8, name="Agent 201")


SCENARIOS.append(
    Scenario(
        "callback_promise_kept",
        "4155550115",
        _promise_drive,
        extensions="""
[callers]
exten => promise,1,Dial(Local/pr-agent@agents,20)
 same => n,Hangup()

[agents]
exten => pr-agent,1,Wait(1)
 same => n,Answer()
 same => n,Wait(1)
 same => n,UserEvent(CallbackPromise,Number: 4155550115,DueIn: 3600,Agent: 201,Reason: lab)
 same => n,Wait(2)
 same => n,Hangup()

[from-internal]
exten => _41XXXXXXXX,1,Dial(PJSIP/${EXTEN}@trunk,30)
 same => n,Hangup()
""",
        expect={"outcome": "answered", "ring": 1.0, "talk": 3.0, "findings": set()},
    )
)


def _reload_drive(lab: Lab, sc: Scenario) -> None:
    """``manager reload`` while the call talks: nothing of the call may be lost."""
    mark = lab.ami.mark()
    uid = lab.originate("reload-call", sc.caller, 60)
    lab.ami.wait_for(
        lambda m: (
            m.get("Event") == "DialEnd"
            and m.get("DialStatus") == "ANSWER"
            and m.get("Linkedid") == uid
        ),
        15,
        mark,
    )
    reply = lab.ami.command("manager reload")
    if reply.get("Response") != "Success":
        raise RuntimeError(f"manager reload: {reply.get('Message')}")


SCENARIOS.append(
    Scenario(
        "manager_reload_midcall",
        "4155550118",
        _reload_drive,
        extensions="""
[callers]
exten => reload-call,1,Dial(Local/rl-agent@agents,20)
 same => n,Hangup()
"""
        + _agent("rl-agent", 1, 8),
        expect={"outcome": "answered", "ring": 1.0, "talk": 8.0, "findings": set()},
    )
)

# the call `core restart now` cuts (tests/lab/test_lab_live.py), not in the batch
RESTART_EXTENSIONS = """
[callers]
exten => restart-call,1,Dial(Local/rs-agent@agents,20)
 same => n,Hangup()
""" + _agent("rs-agent", 1, 120)

# MixMonitor of the caller's channel while bridged (``b``: second 0 is the answer); the agent
# says Asterisk's hello-world prompt 1 s after answering, stays silent 12 s (dead air), says
# agent-pass and hangs up. tests/lab/test_lab_audio.py checks greeting and dead air.
SCENARIOS.append(
    Scenario(
        "mixmonitor_greeting_dead_air",
        "4155550119",
        _orig("rec-call", 60),
        extensions="""
[callers]
exten => rec-call,1,Set(RINGWATCH_RECORDING=${ASTSPOOLDIR}/monitor/lab-${CHANNEL(linkedid)}.wav)
 same => n,MixMonitor(${RINGWATCH_RECORDING},b)
 same => n,Dial(Local/rec-agent@agents/n,20)
 same => n,Hangup()

[agents]
exten => rec-agent,1,Wait(2)
 same => n,Answer()
 same => n,Wait(1)
 same => n,Playback(hello-world)
 same => n,Wait(12)
 same => n,Playback(agent-pass)
 same => n,Hangup()
""",
        expect={"outcome": "answered", "ring": 2.0, "findings": set()},
    )
)


def _atxfer_drive(lab: Lab, sc: Scenario) -> None:
    """Queue call answered by a Local agent; after 3 s of talk the agent starts an attended
    transfer to 302 (AMI Atxfer = the atxfer DTMF feature), consults 2 s once 302 answers,
    then hangs up, which completes the transfer."""
    mark = lab.ami.mark()
    uid = lab.originate("q-at", sc.caller, 90)
    connect = lab.ami.wait_for(
        lambda m: m.get("Event") == "AgentConnect" and m.get("Linkedid") == uid, 20, mark
    )
    agent = connect.get("DestChannel") or ""
    time.sleep(3.0)  # the script's talk time before the transfer (not a wait for an event)
    mark = lab.ami.mark()
    reply = lab.ami.action("Atxfer", Channel=agent, Exten="302", Context="agents")
    if reply.get("Response") != "Success":
        raise RuntimeError(f"Atxfer {agent}: {reply.get('Message')}")
    lab.ami.wait_for(
        lambda m: m.get("Event") == "Newstate" and m.get("ChannelState") == "6"
        and (m.get("Channel") or "").startswith("Local/302@agents"),
        15,
        mark,
    )  # fmt: skip
    time.sleep(2.0)  # the consultation
    reply = lab.ami.action("Hangup", Channel=agent)
    if reply.get("Response") != "Success":
        raise RuntimeError(f"Hangup {agent}: {reply.get('Message')}")


SCENARIOS.append(
    Scenario(
        "attended_transfer",
        "4155550120",
        _atxfer_drive,
        extensions="""
[callers]
exten => q-at,1,Answer()
 same => n,Queue(q-at,t,,,60)
 same => n,Hangup()
"""
        + _agent("at-agent", 1, 60)
        + _agent("302", 1, 12),
        queues=_queue("q-at", "ringall", [("Local/at-agent@agents/n", "Frank")]),
        # Asterisk holds the caller during the consultation (Hold on the agent's channel, no
        # Unhold: the hold ends with that channel); talk is the agent's part (as TalkTime)
        expect={
            "outcome": "answered",
            "agent": "Frank",
            "ring": 1.0,
            "wait": 1.0,
            "transfers": 1,
            "hold_count": 1,
            "holds": [3.2],
            "talk": 6.4,
            "ast_talk": 7,
            "findings": set(),
        },
    )
)


SCENARIOS.append(
    Scenario(
        "queue_slow_answer",
        "4155550121",
        _orig("q-slow", 90),
        extensions=_caller_queue("q-slow", "q-slow") + _agent("slow-ans", 22, 3),
        queues=_queue("q-slow", "ringall", [("Local/slow-ans@agents/n", "Grace")], timeout=30),
        # 22 s is past three US rings (18 s) and the 20 s service level
        expect={
            "outcome": "answered",
            "agent": "Grace",
            "ring": 22.0,
            "wait": 22.0,
            "talk": 3.0,
            "findings": {"answer-within-three-rings"},
        },
    )
)


def _speech_drive(lab: Lab, sc: Scenario) -> None:
    """A SIPp caller who speaks: tt-weasels (Asterisk's prompt) as RTP from a pcap, 3 s
    after the answer; the agent greets with hello-world 1 s after answering."""
    pcap = lab.dir / "caller-speech.pcap"
    wav_to_pcap(SOUNDS / "sounds/en/tt-weasels.wav", pcap, lead_silence=3.0)
    _phone_free_sip(lab, sc, "rec-sip", [("play", str(pcap)), ("talk", 9000), ("bye", None)])


def _phone_free_sip(lab: Lab, sc: Scenario, exten: str, steps: list[tuple[str, object]]) -> None:
    lab.sipp_call(sc, "caller", sipp.uac(sc.caller, exten, steps))


# MixMonitor with one file per leg (r: the caller's voice, t: what the caller hears)
SCENARIOS.append(
    Scenario(
        "sipp_caller_speech_recording",
        "4155550122",
        _speech_drive,
        extensions="""
[from-pstn]
exten => rec-sip,1,Set(BASE=${ASTSPOOLDIR}/monitor/lab-${CHANNEL(linkedid)})
 same => n,Set(RINGWATCH_RECORDING=${BASE}.wav)
 same => n,MixMonitor(${RINGWATCH_RECORDING},br(${BASE}-caller.wav)t(${BASE}-agent.wav))
 same => n,Dial(Local/rec-sip-agent@agents/n,20)
 same => n,Hangup()

[agents]
exten => rec-sip-agent,1,Wait(1)
 same => n,Answer()
 same => n,Wait(1)
 same => n,Playback(hello-world)
 same => n,Wait(30)
 same => n,Hangup()
""",
        expect={"outcome": "answered", "ring": 1.0, "talk": 9.0, "findings": set()},
    )
)


def _after_dead_air(drive: Callable[[Lab, Scenario], None]) -> Callable[[Lab, Scenario], None]:
    """Start ``drive`` once the recording's dead air is over (its agent says agent-pass,
    about 16 s into the batch): the queue-exit calls' media would otherwise load Asterisk
    while test_lab_audio.py measures that silence against the Playback times (it moved by
    0.4 s on the loaded 2-core VM). They still end before the batch's longest call."""

    def wrapped(lab: Lab, sc: Scenario) -> None:
        if any(s.name == "mixmonitor_greeting_dead_air" for s in SCENARIOS):
            mark = lab.ami.mark()
            lab.ami.wait_for(
                lambda m: m.get("Event") == "Newexten" and m.get("AppData") == "agent-pass",
                60,
                mark,
            )
        drive(lab, sc)

    return wrapped


for _sc in QUEUE_SCENARIOS:  # tests/lab/scenarios_queue.py
    if _sc.phase == 1:
        _sc.drive = _after_dead_air(_sc.drive)
SCENARIOS += QUEUE_SCENARIOS

# RINGWATCH_LAB_ONLY=name,name runs only those scenarios (while writing one; never in CI)
_ONLY = {n for n in os.environ.get("RINGWATCH_LAB_ONLY", "").split(",") if n}
if _ONLY:
    SCENARIOS[:] = [sc for sc in SCENARIOS if sc.name in _ONLY]
