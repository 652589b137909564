"""The scenario engine: determinism, ground truth against the emitted stream, and the
scripted scenarios' facts (units as Asterisk sends them)."""

from __future__ import annotations

import io
import math
from collections import Counter

from collectors.ami.parser import AmiMessage
from monitor.simulator import ContactCentre, default_config, scripted, write_transcript
from monitor.simulator.arrivals import next_arrival
from monitor.simulator.scripted import CALLER

HOUR = 3600.0


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, abs_tol=1e-3)


def events(engine: ContactCentre) -> list[tuple[float, AmiMessage]]:
    return engine.run_all()


def named(evs: list[tuple[float, AmiMessage]], name: str) -> list[AmiMessage]:
    return [m for _, m in evs if m.event == name]


def test_same_seed_same_bytes_different_seed_different_bytes() -> None:
    def run(seed: int) -> bytes:
        buf = io.BytesIO()
        write_transcript(ContactCentre(default_config(), seed=seed), 2 * HOUR, buf)
        return buf.getvalue()

    first, again, other = run(7), run(7), run(8)
    assert first == again
    assert first != other
    assert len(first) > 100_000


def test_a_working_day_is_consistent_and_matches_truth() -> None:
    engine = ContactCentre(default_config(), seed=11)
    evs = engine.run_until(engine.now + 8 * HOUR)
    times = [t for t, _ in evs]
    assert times == sorted(times)
    open_chans: set[str] = set()
    for _, msg in evs:
        uid = msg.get("Uniqueid")
        if msg.event == "Newchannel":
            assert uid not in open_chans
            open_chans.add(uid or "")
        elif msg.event == "Hangup":
            open_chans.remove(uid or "")
        elif uid is not None and msg.event not in ("BridgeCreate", "BridgeDestroy"):
            assert uid in open_chans, f"{msg.event} for a channel that is gone"
    assert open_chans == {c.uniqueid for c in engine.active_channels()}
    finished = {t.linkedid for t in engine.truth}
    kinds = Counter(t.kind for t in engine.truth)
    assert kinds["queue"] > 300 and kinds["outbound"] > 5 and kinds["direct"] > 5
    outcomes = Counter(t.outcome for t in engine.truth if t.kind == "queue")
    assert outcomes["answered"] > 200 and outcomes["abandoned"] > 5
    # every finished call's channels are all hung up
    linked = {m.get("Linkedid") for _, m in evs if m.event == "Hangup"}
    assert finished <= linked
    # one AgentConnect per answered queue call, one abandon per abandoned one
    answered = [t for t in engine.truth if t.kind == "queue" and t.outcome == "answered"]
    connects = {m.get("Linkedid") for m in named(evs, "AgentConnect")}
    assert {t.linkedid for t in answered} <= connects
    abandons = {m.get("Linkedid") for m in named(evs, "QueueCallerAbandon")}
    assert abandons == {t.linkedid for t in engine.truth if t.outcome == "abandoned"}
    holds = sum(len(t.holds) for t in engine.truth)
    held = [m for m in named(evs, "Hold") if m.get("Linkedid") in finished]
    assert holds == len(held) > 0


def test_queue_answered_with_hold_truth_and_units() -> None:
    engine = scripted.queue_answered_with_hold(ivr=1, ring=9, talk=60, hold_at=20, hold=30)
    evs = events(engine)
    (call,) = engine.truth
    start = engine.truth[0].start
    assert call.kind == "queue" and call.outcome == "answered" and call.agent == "201"
    assert call.caller == CALLER and call.queue == "support"
    assert call.queue_join == start + 1
    assert call.answer is not None and close(call.answer - start, 1 + 0.3 + 9)
    ((hold_start, hold_secs),) = [(h.start - start, h.seconds) for h in call.holds]
    assert close(hold_start, 20 + 10.3) and close(hold_secs, 30.0)
    assert close(call.end - call.answer, 60 + 30)
    (connect,) = named(evs, "AgentConnect")
    assert connect.get("HoldTime") == "9" and connect.get("RingTime") == "9"
    (complete,) = named(evs, "AgentComplete")
    assert complete.get("TalkTime") == "90" and complete.get("Reason") == "caller"
    (rec,) = [m for m in named(evs, "VarSet") if m.get("Variable") == "MIXMONITOR_FILENAME"]
    assert rec.get("Value") == call.recording and (call.recording or "").endswith(".wav")
    assert [m.event for m in named(evs, "Hold") + named(evs, "Unhold")] == ["Hold", "Unhold"]


def test_hold_with_checking_back_splits_the_hold() -> None:
    engine = scripted.queue_answered_with_hold(hold=50, check_back=True)
    events(engine)
    spans = [round(h.seconds, 3) for h in engine.truth[0].holds]
    assert spans == [20.0, 20.0, 10.0]


def test_agent_hangs_up() -> None:
    evs = events(engine := scripted.queue_answered_with_hold(hold=0, agent_hangs_up=True))
    (req,) = named(evs, "HangupRequest")
    assert (req.get("Channel") or "").startswith("PJSIP/201-")
    assert named(evs, "AgentComplete")[0].get("Reason") == "agent"
    assert engine.truth[0].outcome == "answered"


def test_abandon_reports_whole_seconds_held() -> None:
    engine = scripted.queue_abandoned(ivr=1, patience=25.4)
    evs = events(engine)
    (ab,) = named(evs, "QueueCallerAbandon")
    assert ab.get("HoldTime") == "25" and ab.get("Position") == "1"
    assert ab.get("OriginalPosition") == "1"
    names = [m.event for _, m in evs]
    i = names.index("QueueCallerAbandon")
    assert names[i + 1] == "QueueCallerLeave" and names[-1] == "Hangup"
    (call,) = engine.truth
    assert call.outcome == "abandoned" and call.answer is None and call.agent is None


def test_rona_ring_time_is_milliseconds_then_answered() -> None:
    engine = scripted.queue_rona_then_answer(ring_timeout=15, retry=5, ring=4)
    evs = events(engine)
    (rna,) = named(evs, "AgentRingNoAnswer")
    assert rna.get("RingTime") == "15000"
    (connect,) = named(evs, "AgentConnect")
    assert connect.get("RingTime") == "4"
    assert connect.get("HoldTime") == str(math.floor(1 + 0.3 + 15 + 5 + 0.3 + 4) - 1)
    (call,) = engine.truth
    assert call.rona == 1 and call.outcome == "answered"


def test_blind_transfer() -> None:
    engine = scripted.queue_blind_transfer()
    evs = events(engine)
    assert named(evs, "BlindTransfer")[0].get("Extension") == "300"
    assert named(evs, "AgentComplete")[0].get("Reason") == "transfer"
    (call,) = engine.truth
    assert call.transfers == 1 and call.outcome == "answered" and call.agent == "201"
    assert not engine.active_channels()


def test_attended_transfer() -> None:
    engine = scripted.queue_attended_transfer(consult=15)
    evs = events(engine)
    (xfer,) = named(evs, "AttendedTransfer")
    assert xfer.get("DestType") == "Bridge"
    assert xfer.get("TransferTargetCallerIDNum") == "300"
    (call,) = engine.truth
    assert call.transfers == 1 and len(call.holds) == 1
    assert not engine.active_channels()


def test_voicemail_when_the_queue_has_no_agents() -> None:
    engine = scripted.queue_voicemail()
    evs = events(engine)
    apps = [m.get("Application") for m in named(evs, "Newexten")]
    assert "VoiceMail" in apps and not named(evs, "QueueCallerJoin")
    assert engine.truth[0].outcome == "voicemail"


def test_direct_calls_truth() -> None:
    answered = scripted.direct_answered(ring=10.1, talk=20)
    events(answered)
    (a,) = answered.truth
    assert a.kind == "direct" and a.outcome == "answered"
    assert a.answer is not None and close(a.answer - a.start, 10.5)
    missed = scripted.direct_unanswered(ring=7.9)
    evs = events(missed)
    assert named(evs, "DialEnd")[0].get("DialStatus") == "CANCEL"
    assert missed.truth[0].outcome == "unanswered" and missed.truth[0].answer is None


def test_callback_promise_and_kept_callback() -> None:
    engine = scripted.outbound_callback(due_in=1800, callback_after=600)
    evs = events(engine)
    (ue,) = named(evs, "UserEvent")
    assert ue.get("UserEvent") == "CallbackPromise" and ue.get("Number") == CALLER
    assert ue.get("DueIn") == "1800" and ue.get("Agent") == "201" and ue.get("Reason")
    assert ue.get("Privilege") == "user,all"
    first, callback = engine.truth
    assert first.promise is not None and callback.kind == "callback"
    assert callback.dialled == CALLER and callback.outcome == "answered"
    assert close(callback.start - first.promise.promised_at, 600)
    (promise,) = engine.promises
    assert promise.kept and promise.callback_linkedid == callback.linkedid


def test_broken_promise_callback_comes_late() -> None:
    engine = scripted.outbound_callback(due_in=600, callback_after=900, kept=False)
    events(engine)
    (promise,) = engine.promises
    assert not promise.kept and promise.callback_linkedid is not None


def test_restart_drops_everything_without_hangups() -> None:
    engine = ContactCentre(default_config(), seed=3)
    engine.run_until(engine.now + HOUR)
    assert engine.active_channels()
    engine.restart()
    assert not engine.active_channels()
    assert engine.boot_time == engine.now
    assert any(t.interrupted for t in engine.truth)
    later = engine.run_until(engine.now + HOUR)
    assert later and later[0][1].event == "Newchannel"  # traffic resumes with new calls


def test_poisson_rate_per_hour_of_day() -> None:
    import random

    rates = tuple(60.0 if 9 <= h < 10 else 0.0 for h in range(24))
    rng = random.Random(1)
    t, count = 0.0, 0
    while True:
        nxt = next_arrival(rng, rates, t)
        assert nxt is not None
        if nxt >= 86_400 * 20:
            break
        assert 9 * 3600 <= nxt % 86_400 < 10 * 3600
        t, count = nxt, count + 1
    assert 20 * 60 * 0.85 < count < 20 * 60 * 1.15
    assert next_arrival(rng, tuple(0.0 for _ in range(24)), 0.0) is None
