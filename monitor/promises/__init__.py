"""Callback promises: "return every call within 24 hours" and "I will call you back".

A missed inbound call (abandoned, unanswered, voicemail) makes an implicit promise; an AMI
``UserEvent: CallbackPromise``, ``POST /api/promises`` or ``ringwatch promises add`` makes an
explicit one. A matching call to (or, if the rule allows, from) the number before the due time
keeps it; event time passing the due time breaks it. See docs/promises.md.
"""

from __future__ import annotations

from monitor.promises.engine import PromiseEngine
from monitor.promises.model import (
    OUTCOME_STATES,
    TRANSITIONS,
    Action,
    Change,
    Promise,
    PromiseKind,
    PromiseState,
    check_transition,
)
from monitor.promises.numbers import Normalised, is_withheld, normalise
from monitor.promises.settings import (
    ALWAYS_OPEN,
    AlwaysOpen,
    BusinessCalendar,
    KeepMode,
    PromiseRule,
    PromiseSettings,
    WeeklyHours,
)
from monitor.promises.tables import PROMISE_TABLES, promise_events, promises
from monitor.promises.views import VIEWS, PromiseProvider, PromiseQueries

__all__ = [
    "ALWAYS_OPEN",
    "OUTCOME_STATES",
    "PROMISE_TABLES",
    "TRANSITIONS",
    "VIEWS",
    "Action",
    "AlwaysOpen",
    "BusinessCalendar",
    "Change",
    "KeepMode",
    "Normalised",
    "Promise",
    "PromiseEngine",
    "PromiseKind",
    "PromiseProvider",
    "PromiseQueries",
    "PromiseRule",
    "PromiseSettings",
    "PromiseState",
    "WeeklyHours",
    "check_transition",
    "is_withheld",
    "normalise",
    "promise_events",
    "promises",
]
