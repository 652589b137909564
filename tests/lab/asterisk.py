"""The lab's Asterisk: find (or build) the install, write every config into a scratch folder,
start it unprivileged on loopback ports, wait for FullyBooted over AMI, stop it cleanly.

The build is `.ci/build-asterisk.sh` (`make asterisk`); it prints the install folder
(``${RINGWATCH_CACHE:-~/.cache/ringwatch}/asterisk-<key>``). ``RINGWATCH_ASTERISK`` names an
install folder directly (skips the build script).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab.ami import AmiClient, AmiError

__all__ = ["Asterisk", "LabError", "LabPorts", "find_install", "free_port"]

REPO = Path(__file__).resolve().parents[2]
SOUNDS = Path("/usr/share/asterisk")  # Debian asterisk-core-sounds-en-wav, moh-opsound-wav

# manager.conf exactly as README.md tells users (the ringwatch user), plus the lab's own
# driver user (originate, commands). Ports are filled in.
README_AMI_USER = """\
[ringwatch]
secret = {secret}
read = call,agent,user,cdr,system,dialplan
write = reporting
"""


class LabError(RuntimeError):
    """The lab could not build, start or drive Asterisk (the message says what to do)."""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_install() -> Path:
    """The installed Asterisk (its DESTDIR root holding usr/sbin/asterisk); builds it with
    .ci/build-asterisk.sh when not cached (about 10 min on 2 cores the first time)."""
    named = os.environ.get("RINGWATCH_ASTERISK")
    if named:
        root = Path(named)
        if not (root / "usr/sbin/asterisk").exists():
            raise LabError(f"RINGWATCH_ASTERISK={named}: no usr/sbin/asterisk under it")
        return root
    script = REPO / ".ci/build-asterisk.sh"
    proc = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=3600, check=False
    )
    if proc.returncode != 0:
        raise LabError(
            f"{script} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}\n"
            "run `make asterisk` to see the build; the lab needs Asterisk 22.10.1 "
            "(sources in ../shared/asterisk or RINGWATCH_ASTERISK_SRC)"
        )
    root = Path(proc.stdout.strip().splitlines()[-1])
    if not (root / "usr/sbin/asterisk").exists():
        raise LabError(f"{script} printed {root}, which holds no usr/sbin/asterisk")
    return root


@dataclass
class LabPorts:
    ami: int = field(default_factory=free_port)
    sip: int = field(default_factory=lambda: free_port(socket.SOCK_DGRAM))


@dataclass
class Configs:
    """The config files the scenarios contribute to (appended as text)."""

    extensions: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    pjsip: list[str] = field(default_factory=list)
    voicemail: list[str] = field(default_factory=list)


class Asterisk:
    """One Asterisk process in ``workdir``. ``start()`` returns when FullyBooted was seen on
    the lab's AMI connection; ``stop()`` always ends the process (core stop now, then kill)."""

    secret = "lab-secret"
    ringwatch_secret = "ringwatch-lab"

    def __init__(self, install: Path, workdir: Path, ports: LabPorts, configs: Configs) -> None:
        self.install = install
        self.dir = workdir
        self.ports = ports
        self.configs = configs
        self.proc: subprocess.Popen[bytes] | None = None
        self.ami: AmiClient | None = None
        self.etc = workdir / "etc"
        self.conf = self.etc / "asterisk.conf"
        self.recordings = workdir / "spool/monitor"
        self.log = workdir / "asterisk.out"

    # ---- configs ---------------------------------------------------------------------------

    def write_configs(self) -> None:
        d = self.dir
        for sub in ("etc", "lib", "db", "keys", "spool/monitor", "spool/voicemail", "run",
                    "log/cdr-csv", "cache", "agi"):  # fmt: skip
            (d / sub).mkdir(parents=True, exist_ok=True)
        usr = self.install / "usr"
        files = {
            "asterisk.conf": f"""\
[directories]
astetcdir => {self.etc}
astmoddir => {usr}/lib/asterisk/modules
astvarlibdir => {d}/lib
astdbdir => {d}/db
astkeydir => {d}/keys
astdatadir => {SOUNDS}
astagidir => {d}/agi
astspooldir => {d}/spool
astrundir => {d}/run
astlogdir => {d}/log
astsbindir => {usr}/sbin
astcachedir => {d}/cache

[options]
verbose = 0
debug = 0
transmit_silence = yes
hideconnect = yes
""",
            "modules.conf": """\
[modules]
autoload = yes
noload = res_pjsip_logger.so
""",
            "logger.conf": """\
[general]
queue_log = yes
queue_log_name = queue_log
[logfiles]
messages.log => notice,warning,error
""",
            "manager.conf": f"""\
[general]
enabled = yes
port = {self.ports.ami}
bindaddr = 127.0.0.1
timestampevents = yes

{README_AMI_USER.format(secret=self.ringwatch_secret)}
[lab]
secret = {self.secret}
read = all
write = all
""",
            "cdr.conf": """\
[general]
enable = yes
unanswered = yes
congestion = yes
[csv]
usegmtime = yes
loguniqueid = yes
loguserfield = yes
""",
            "cdr_manager.conf": "[general]\nenabled = yes\n",
            "cel.conf": "[general]\nenable = no\n",
            "musiconhold.conf": f"""\
[general]
[default]
mode = files
directory = {SOUNDS}/moh
""",
            "queues.conf": "[general]\npersistentmembers = no\nshared_lastcall = no\n"
            + "\n".join(self.configs.queues),
            "extensions.conf": "[general]\nstatic = yes\nwriteprotect = yes\n"
            + "\n".join(self.configs.extensions),
            "pjsip.conf": f"""\
[global]
type = global
endpoint_identifier_order = ip,username
[transport-udp]
type = transport
protocol = udp
bind = 127.0.0.1:{self.ports.sip}
"""
            + "\n".join(self.configs.pjsip),
            "voicemail.conf": "[general]\nformat = wav\nattach = no\nmaxsilence = 0\n"
            "minsecs = 0\n[default]\n" + "\n".join(self.configs.voicemail),
            "features.conf": "[general]\ntransferdigittimeout = 3\n[featuremap]\n"
            "blindxfer = #1\natxfer = *2\n",
            "rtp.conf": "[general]\nrtpstart = 30000\nrtpend = 31000\n",
        }
        for name, text in files.items():
            (self.etc / name).write_text(text)

    # ---- process ---------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        lib = str(self.install / "usr/lib")
        env["LD_LIBRARY_PATH"] = lib + (
            ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else ""
        )
        return env

    def binary(self) -> str:
        return str(self.install / "usr/sbin/asterisk")

    def start(self, timeout: float = 60.0) -> AmiClient:
        if self.proc is None or self.proc.poll() is not None:
            out = self.log.open("ab")
            self.proc = subprocess.Popen(
                [self.binary(), "-C", str(self.conf), "-f", "-n"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env=self.env(), start_new_session=True,
            )  # fmt: skip
        self.ami = self.connect("lab", self.secret, timeout)
        return self.ami

    def connect(
        self, user: str, secret: str, timeout: float = 60.0, *, booted: bool = True
    ) -> AmiClient:
        """An AMI connection once the manager listens (retried until ``timeout``); with
        ``booted`` it returns after FullyBooted."""
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise LabError(f"asterisk exited ({self.proc.returncode}); see {self.log}")
            try:
                client = AmiClient("127.0.0.1", self.ports.ami, user, secret, name=user)
            except (OSError, AmiError) as exc:
                last = exc
                # the manager is not listening yet: wait on the process, not a sleep
                if self.proc is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        self.proc.wait(0.1)
                continue
            if booted:
                client.wait_for(
                    lambda m: m.get("Event") == "FullyBooted", max(1.0, deadline - time.monotonic())
                )
            return client
        raise LabError(f"AMI on 127.0.0.1:{self.ports.ami} not up within {timeout:.0f} s: {last}")

    def cli(self, command: str, timeout: float = 15.0) -> str:
        proc = subprocess.run(
            [self.binary(), "-C", str(self.conf), "-rx", command],
            capture_output=True, text=True, env=self.env(), timeout=timeout, check=False,
        )  # fmt: skip
        return proc.stdout

    def stop(self) -> None:
        """``core stop now``, then SIGTERM, then SIGKILL: never leaves the process behind."""
        if self.ami is not None:
            self.ami.close()
            self.ami = None
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.cli("core stop now", timeout=10)
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if sig is not None:
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    return
            try:
                proc.wait(10)
                return
            except subprocess.TimeoutExpired:
                continue

    def queue_log(self) -> list[list[str]]:
        path = self.dir / "log/queue_log"
        if not path.exists():
            return []
        return [line.split("|") for line in path.read_text().splitlines() if line]


def require_tools() -> None:
    if shutil.which("sipp") is None:
        raise LabError("sipp not found: install Debian's sip-tester (.ci/system-deps.sh does)")
