"""Issue 16 item 6: voicemail is recognised without Newexten (many sites filter it out).

A call the callee rejects ends in FreePBX's ``macro-vm``: the caller's channel moves into the
voicemail context (Newstate, Hangup carry Context/Exten), app_voicemail and macro-vm set VM_*
variables (VarSet). Each of these alone makes the call ``voicemail`` (it was ``unanswered``).
"""

from __future__ import annotations

import pytest

from collectors.ami.parser import AmiMessage
from collectors.ami.translate import Translator
from monitor import events as ev
from monitor.events import ChannelRef, ChannelState
from monitor.record import CallRecord, Outcome
from monitor.tracker import Tracker

T0 = 1_700_000_000.0
LINK = "1700000000.1"


def _ref(name: str, uid: str, state: ChannelState, context: str, exten: str) -> ChannelRef:
    return ChannelRef(name, uid, LINK, state, "4155550100", "Customer", None, None, context, exten)


CALLER = _ref("PJSIP/trunk-00000001", LINK, ChannelState.RING, "from-pstn", "8005550300")
CALLEE = _ref("PJSIP/300-00000002", "1700000000.2", ChannelState.DOWN, "from-internal", "300")
RINGING = _ref(CALLEE.channel, CALLEE.uniqueid, ChannelState.RINGING, "from-internal", "300")


def _rejected(tail: list[ev.Event]) -> CallRecord:
    t = Tracker()
    out: list[CallRecord] = []
    events: list[ev.Event] = [
        ev.ChannelCreated(T0, CALLER),
        ev.ChannelCreated(T0 + 1, CALLEE),
        ev.DialStarted(T0 + 1, CALLER, CALLEE, "PJSIP/300"),
        ev.ChannelStateChanged(
            T0 + 1.5,
            _ref(CALLEE.channel, CALLEE.uniqueid, ChannelState.RINGING, "from-internal", "300"),
        ),
        ev.DialEnded(T0 + 8, CALLER, CALLEE, "BUSY"),  # the callee pressed reject (486)
        ev.ChannelHungUp(T0 + 8, CALLEE, 21, "Call Rejected"),
        *tail,
    ]
    for e in events:
        out.extend(t.feed(e))
    (rec,) = out
    return rec


def test_the_voicemail_context_on_newstate_makes_it_voicemail() -> None:
    up_in_vm = _ref(CALLER.channel, LINK, ChannelState.UP, "macro-vm", "s")
    rec = _rejected([
        ev.ChannelStateChanged(T0 + 8.2, up_in_vm),
        ev.ChannelHungUp(T0 + 40, up_in_vm, 16, ""),
    ])  # fmt: skip
    assert rec.outcome is Outcome.VOICEMAIL  # was busy/unanswered
    assert rec.voicemail_at == pytest.approx(T0 + 8.2)


def test_the_voicemail_context_at_hangup_alone_makes_it_voicemail() -> None:
    up = _ref(CALLER.channel, LINK, ChannelState.UP, "from-pstn", "8005550300")
    in_vm = _ref(CALLER.channel, LINK, ChannelState.UP, "macro-vm", "s")
    rec = _rejected(
        [ev.ChannelStateChanged(T0 + 8.1, up), ev.ChannelHungUp(T0 + 40, in_vm, 16, "")]
    )
    assert rec.outcome is Outcome.VOICEMAIL
    assert rec.voicemail_at == pytest.approx(T0 + 8.1)  # when voicemail answered the caller


def test_a_freepbx_voicemail_extension_up_makes_it_voicemail() -> None:
    vm = ChannelRef(
        "Local/vmu300@from-internal-00000003;2", "1700000000.3", LINK, ChannelState.UP,
        "4155550100", "Customer", None, None, "ext-local", "vmu300",
    )  # fmt: skip
    rec = _rejected([
        ev.ChannelCreated(T0 + 8.1, vm),
        ev.ChannelStateChanged(T0 + 8.3, vm),
        ev.ChannelHungUp(T0 + 40, vm, 16, ""),
        ev.ChannelHungUp(T0 + 40, CALLER, 16, ""),
    ])  # fmt: skip
    assert rec.outcome is Outcome.VOICEMAIL


def test_a_vm_varset_is_a_voicemail_event() -> None:
    tr = Translator()
    block = [("Event", "VarSet"), ("Privilege", "dialplan,all"), ("Timestamp", f"{T0 + 9:.6f}"),
             ("Channel", CALLER.channel), ("ChannelState", "6"), ("ChannelStateDesc", "Up"),
             ("CallerIDNum", "4155550100"), ("CallerIDName", "Customer"),
             ("ConnectedLineNum", "<unknown>"), ("ConnectedLineName", "<unknown>"),
             ("Language", "en"), ("AccountCode", ""), ("Context", "macro-vm"), ("Exten", "s"),
             ("Priority", "3"), ("Uniqueid", LINK), ("Linkedid", LINK)]  # fmt: skip
    for variable in ("VM_OPTS", "VM_MESSAGEFILE", "VMSTATUS"):
        e = tr.translate(AmiMessage.from_pairs([*block, ("Variable", variable), ("Value", "x")]))
        assert isinstance(e, ev.VoicemailStarted) and e.at == T0 + 9
    other = tr.translate(AmiMessage.from_pairs([*block, ("Variable", "VMBOX"), ("Value", "300")]))
    assert other is None  # set before every call to an extension: not voicemail
    rec = _rejected([
        ev.VoicemailStarted(T0 + 9, CALLER),
        ev.ChannelHungUp(T0 + 40, CALLER, 16, ""),
    ])  # fmt: skip
    assert rec.outcome is Outcome.VOICEMAIL


def test_a_ringing_call_with_no_voicemail_sign_stays_unanswered() -> None:
    rec = _rejected([ev.ChannelHungUp(T0 + 9, CALLER, 16, "")])
    assert rec.outcome is not Outcome.VOICEMAIL
