"""Which history format a file holds: an AMI transcript or an Asterisk queue_log."""

from __future__ import annotations

import re

from monitor.history.source import InputFile

__all__ = ["detect_format"]

_QUEUE_LOG_LINE = re.compile(rb"^\s*\d{9,11}(?:\.\d+)?\|[^|\n]*\|[^|\n]*\|[^|\n]*\|[A-Z_]+", re.M)
_QUEUE_LOG_HEADER = re.compile(rb'^\s*"?time"?[|,]"?callid"?[|,]"?queuename"?', re.I)


def detect_format(source: InputFile) -> str:
    """``"queue_log"`` when the first lines are queue_log (file or table export), else
    ``"ami"`` (the AMI reader then says if it is not AMI either)."""
    head = source.peek(4096)
    if _QUEUE_LOG_HEADER.match(head):
        return "queue_log"
    first = head.lstrip()[:200]
    if _QUEUE_LOG_LINE.match(first):
        return "queue_log"
    return "ami"
