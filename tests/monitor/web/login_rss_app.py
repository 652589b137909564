"""The web app as ``ringwatch run`` serves it (default argon2id: 64 MiB per check), over the
store named by RINGWATCH_TEST_STORE; for test_web_login_memory.py (uvicorn --factory)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from monitor.store import Store
from monitor.web import create_app


def make_app() -> FastAPI:
    return create_app(Store.open(os.environ["RINGWATCH_TEST_STORE"]))
