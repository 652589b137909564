"""SIPp scenarios written for the lab (not copied from anywhere): a caller (UAC) with scripted
steps, and phones (UAS) that answer after a delay, ring until cancelled, or answer 486 Busy.

Each instance runs one call (``-m 1``) on its own loopback UDP port; branches and tags are
fixed strings, so a CANCEL or an ACK for a non-2xx response carries the INVITE's branch.
"""

# ruff: noqa: E501  (SIP message templates read best one header line per source line)
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Sipp", "uac", "uas_answer", "uas_busy", "uas_ring"]

_SDP = """v=0
o=lab 1 {version} IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a={direction}
"""


def _xml(name: str, body: str) -> str:
    return f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="{name}">\n{body}</scenario>\n'


def _send(text: str, retrans: bool = False, next_label: str | None = None) -> str:
    attrs = ' retrans="500"' if retrans else ""
    if next_label:
        attrs += f' next="{next_label}"'
    return f"<send{attrs}><![CDATA[\n{text.strip()}\n\n]]></send>\n"


# ---- caller (UAC) ------------------------------------------------------------------------


def uac(
    caller: str, target: str, steps: list[tuple[str, object]], *, cancel_after_ms: int | None = None
) -> str:
    """A caller: INVITE ``target`` from ``caller``; when answered run ``steps``:
    ``("talk", ms)``, ``("play", pcap)`` (start sending that RTP), ``("hold", None)`` (re-INVITE sendonly), ``("unhold", None)``
    (re-INVITE sendrecv), ``("refer", exten)`` (blind transfer of the other party; Asterisk
    then hangs the caller up), ``("bye", None)``, ``("wait_bye", None)`` (the far end hangs
    up). ``cancel_after_ms``: CANCEL that long after the first ringing response instead."""
    frm = f'"Lab {caller}" <sip:{caller}@[local_ip]:[local_port]>;tag=lab[pid]'
    to = f"<sip:{target}@[remote_ip]:[remote_port]>"
    common = f"From: {frm}\nCall-ID: [call_id]\nContact: <sip:{caller}@[local_ip]:[local_port]>\nMax-Forwards: 70\n"
    inv_via = "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK[pid]inv1;rport"
    body = _send(
        f"INVITE sip:{target}@[remote_ip]:[remote_port] SIP/2.0\n{inv_via}\nTo: {to}\n{common}"
        "CSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: [len]\n\n"
        + _SDP.format(version=1, direction="sendrecv"),
        retrans=True,
    )
    body += '<recv response="100" optional="true"/>\n'
    if cancel_after_ms is not None:
        body += '<recv response="183" optional="true"/>\n<recv response="180"/>\n'
        body += f'<pause milliseconds="{cancel_after_ms}"/>\n'
        body += _send(
            f"CANCEL sip:{target}@[remote_ip]:[remote_port] SIP/2.0\n{inv_via}\nTo: {to}\n{common}"
            "CSeq: 1 CANCEL\nContent-Length: 0",
        )
        body += '<recv response="200"/>\n<recv response="487"/>\n'
        body += _send(
            f"ACK sip:{target}@[remote_ip]:[remote_port] SIP/2.0\n{inv_via}\nTo: {to}[peer_tag_param]\n"
            f"{common}CSeq: 1 ACK\nContent-Length: 0"
        )
        return _xml("caller-cancel", body)
    body += '<recv response="180" optional="true"/>\n<recv response="183" optional="true"/>\n'
    body += '<recv response="200" rtd="true"/>\n'
    body += _send(
        f"ACK sip:{target}@[remote_ip]:[remote_port] SIP/2.0\nVia: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK[pid]ack1;rport\n"
        f"To: {to}[peer_tag_param]\n{common}CSeq: 1 ACK\nContent-Length: 0"
    )
    cseq = 1
    version = 1
    dialog_to = f"To: {to}[peer_tag_param]"
    for n, (kind, arg) in enumerate(steps):
        via = f"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK[pid]s{n};rport"
        if kind == "talk":
            body += f'<pause milliseconds="{arg}"/>\n'
        elif kind == "play":  # RTP from a pcap (tests/lab/rtp.py), while the script goes on
            body += f'<nop><action><exec play_pcap_audio="{arg}"/></action></nop>\n'
        elif kind in ("hold", "unhold"):
            cseq += 1
            version += 1
            direction = "sendonly" if kind == "hold" else "sendrecv"
            body += _send(
                f"INVITE sip:{target}@[remote_ip]:[remote_port] SIP/2.0\n{via}\n{dialog_to}\n{common}CSeq: {cseq} INVITE\n"
                "Content-Type: application/sdp\nContent-Length: [len]\n\n"
                + _SDP.format(version=version, direction=direction),
                retrans=True,
            )
            body += '<recv response="100" optional="true"/>\n<recv response="200"/>\n'
            body += _send(
                f"ACK sip:{target}@[remote_ip]:[remote_port] SIP/2.0\nVia: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK[pid]a{n};rport\n"
                f"{dialog_to}\n{common}CSeq: {cseq} ACK\nContent-Length: 0"
            )
        elif kind == "refer":
            cseq += 1
            body += _send(
                f"REFER sip:{target}@[remote_ip]:[remote_port] SIP/2.0\n{via}\n{dialog_to}\n{common}CSeq: {cseq} REFER\n"
                f"Refer-To: <sip:{arg}@[remote_ip]:[remote_port]>\n"
                f"Referred-By: <sip:{caller}@[local_ip]:[local_port]>\nContent-Length: 0",
                retrans=True,
            )
            body += '<recv response="202"/>\n'
            body += _wait_bye(notify=True)
            return _xml("caller-refer", body)
        elif kind == "bye":
            cseq += 1
            body += _send(
                f"BYE sip:{target}@[remote_ip]:[remote_port] SIP/2.0\n{via}\n{dialog_to}\n{common}CSeq: {cseq} BYE\nContent-Length: 0",
                retrans=True,
            )
            body += '<recv response="200" crlf="true"/>\n'
            return _xml("caller", body)
        elif kind == "wait_bye":
            body += _wait_bye(notify=False)
            return _xml("caller-waits", body)
        else:
            raise ValueError(f"unknown caller step {kind!r}")
    raise ValueError("caller steps must end with bye, wait_bye or refer")


_REPLY = "[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n[last_CSeq:]\nContent-Length: 0"


def _wait_bye(notify: bool) -> str:
    """Answer NOTIFYs (transfer progress) until a BYE comes; answer it."""
    body = '<label id="wait"/>\n'
    if notify:
        body += '<recv request="NOTIFY" optional="true" next="notify"/>\n'
    body += '<recv request="BYE" timeout="120000"/>\n'
    body += _send(f"SIP/2.0 200 OK\n{_REPLY}", next_label="done")
    if notify:
        body += '<label id="notify"/>\n'
        body += _send(f"SIP/2.0 200 OK\n{_REPLY}", next_label="wait")
    body += '<label id="done"/>\n<pause milliseconds="200"/>\n'
    return body


# ---- phones (UAS) ------------------------------------------------------------------------

_TAG = ";tag=lab[pid]uas"


def _uas_invite(keep_cseq: bool = False) -> str:
    """Receive the INVITE (keeping its CSeq number in $cseqnum) and say 100 Trying."""
    if not keep_cseq:
        return '<recv request="INVITE" crlf="true"/>\n' + _send(f"SIP/2.0 100 Trying\n{_REPLY}")
    return (
        '<recv request="INVITE" crlf="true">\n<action>\n'
        '<ereg regexp="([0-9]+) INVITE" search_in="hdr" header="CSeq:" assign_to="whole,cseqnum"/>\n'
        '</action>\n</recv>\n<Reference variables="whole"/>\n'
        + _send(f"SIP/2.0 100 Trying\n{_REPLY}")
    )


def _ringing() -> str:
    return _send(
        "SIP/2.0 180 Ringing\n[last_Via:]\n[last_From:]\n[last_To:]" + _TAG + "\n[last_Call-ID:]\n"
        "[last_CSeq:]\nContact: <sip:[local_ip]:[local_port];transport=[transport]>\nContent-Length: 0"
    )


def uas_answer(ring_ms: int) -> str:
    """A phone that rings ``ring_ms`` then answers and stays until the far end sends BYE
    (answering re-INVITEs on the way)."""
    body = _uas_invite() + _ringing()
    body += f'<pause milliseconds="{ring_ms}"/>\n'
    body += _send(
        "SIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]" + _TAG + "\n[last_Call-ID:]\n"
        "[last_CSeq:]\nContact: <sip:[local_ip]:[local_port];transport=[transport]>\n"
        "Content-Type: application/sdp\nContent-Length: [len]\n\n"
        + _SDP.format(version=1, direction="sendrecv"),
        retrans=True,
    )
    body += '<recv request="ACK" crlf="true"/>\n'
    body += '<label id="wait"/>\n'
    body += '<recv request="INVITE" optional="true" next="reinvite"/>\n'
    body += '<recv request="BYE" timeout="180000"/>\n'
    body += _send(f"SIP/2.0 200 OK\n{_REPLY}", next_label="done")
    body += '<label id="reinvite"/>\n'
    body += _send(
        "SIP/2.0 200 OK\n[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n[last_CSeq:]\n"
        "Contact: <sip:[local_ip]:[local_port];transport=[transport]>\n"
        "Content-Type: application/sdp\nContent-Length: [len]\n\n"
        + _SDP.format(version=2, direction="sendrecv"),
    )
    body += '<recv request="ACK" next="wait"/>\n'
    body += '<label id="done"/>\n<pause milliseconds="200"/>\n'
    return _xml("phone-answers", body)


def uas_ring() -> str:
    """A phone that rings until the caller (Asterisk) cancels."""
    body = _uas_invite(keep_cseq=True) + _ringing()
    body += '<recv request="CANCEL" timeout="180000"/>\n'
    body += _send(f"SIP/2.0 200 OK\n{_REPLY}")
    body += _send(
        "SIP/2.0 487 Request Terminated\n[last_Via:]\n[last_From:]\n[last_To:]" + _TAG + "\n"
        "[last_Call-ID:]\nCSeq: [$cseqnum] INVITE\nContent-Length: 0"
    )
    body += '<recv request="ACK"/>\n'
    return _xml("phone-rings", body)


def uas_busy() -> str:
    """A phone that answers 486 Busy Here."""
    body = _uas_invite()
    body += _send(
        "SIP/2.0 486 Busy Here\n[last_Via:]\n[last_From:]\n[last_To:]"
        + _TAG
        + "\n[last_Call-ID:]\n"
        "[last_CSeq:]\nContent-Length: 0"
    )
    body += '<recv request="ACK"/>\n'
    return _xml("phone-busy", body)


@dataclass
class Sipp:
    """One SIPp process (one call). ``wait()`` returns its exit code (0: scenario passed)."""

    name: str
    xml: str
    port: int
    workdir: Path
    remote: str | None = None  # host:port for a UAC
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> Sipp:
        path = self.workdir / f"{self.name}.xml"
        path.write_text(self.xml)
        cmd = ["sipp", "-sf", str(path), "-i", "127.0.0.1", "-p", str(self.port), "-m", "1",
               "-mp", str(self.port + 2), "-nostdin", "-trace_err", "-error_file",
               str(self.workdir / f"{self.name}.err"), "-timeout", "240s", "-timeout_error"]  # fmt: skip
        if self.remote is not None:
            cmd.append(self.remote)
        log = (self.workdir / f"{self.name}.out").open("wb")
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
        )
        return self

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def errors(self) -> str:
        err = self.workdir / f"{self.name}.err"
        return err.read_text()[-3000:] if err.exists() else ""

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
