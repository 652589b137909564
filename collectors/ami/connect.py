"""Opening an AMI connection: the client TLS context, and the one-line description of why a
connection attempt failed (for the log and the health report)."""

from __future__ import annotations

import ssl

from monitor.errors import AmiError

__all__ = ["describe", "tls_context"]


def tls_context(verify: bool) -> ssl.SSLContext:
    """The client TLS context: the system trust store; ``verify=False`` accepts any
    certificate (a self-signed PBX certificate on a trusted network)."""
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def describe(exc: BaseException, where: str) -> str:
    """One line for the log and the health: what failed and what to do."""
    if isinstance(exc, AmiError):
        return str(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS certificate of {where} not trusted: {exc.verify_message}; install its CA in "
            "the system trust store, or set tls_verify: false on a trusted network"
        )
    if isinstance(exc, TimeoutError):
        return f"no answer from {where} in time (TCP connect or TLS handshake)"
    if isinstance(exc, ConnectionRefusedError):
        return (
            f"connection to {where} refused; is the AMI enabled (manager.conf) and the port right?"
        )
    return f"cannot reach {where}: {exc}"
