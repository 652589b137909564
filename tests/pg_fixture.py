"""A throwaway PostgreSQL cluster for the store and web tests (loaded by their conftests).

Starts Debian's PostgreSQL (``/usr/lib/postgresql/*/bin``) with initdb + pg_ctl in a temp dir,
listening on 127.0.0.1 at a free port (as the ``postgres`` OS user when running as root), and
stops it at the end of the session. Each test gets a fresh database.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_COUNTER = itertools.count(1)


def pg_bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if not found:
        raise RuntimeError(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; "
            "install the Debian 'postgresql' package (make system-deps)"
        )
    return Path(found[-1]).parent


def _version_key(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgCluster:
    root: Path
    port: int
    as_postgres: bool
    running: bool = False

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            log = self.root / "pg.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}\n{tail}")

    def start(self) -> None:
        bindir = pg_bin_dir()
        data = self.root / "data"
        self.run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--no-locale", "--no-sync")
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        self.run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l",
                 str(self.root / "pg.log"), "-w", "-t", "30", "start")
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.run(str(pg_bin_dir() / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast",
                     "-w", "-t", "30", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def create_db(self) -> str:
        import psycopg

        name = f"rw_{os.getpid()}_{next(_COUNTER)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_db(self, name: str) -> None:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_CLUSTER: list[PgCluster] = []


def start_cluster() -> PgCluster:
    if _CLUSTER and _CLUSTER[0].running:
        return _CLUSTER[0]
    root = Path(tempfile.mkdtemp(prefix="ringwatch-pg-"))
    as_postgres = os.geteuid() == 0
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
        os.chmod(root, 0o700)
    cluster = PgCluster(root=root, port=_free_port(), as_postgres=as_postgres)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    _CLUSTER[:] = [cluster]
    return cluster


@pytest.fixture(scope="session")
def pg_cluster(request: pytest.FixtureRequest) -> PgCluster:
    cluster = start_cluster()
    request.addfinalizer(cluster.stop)
    return cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "ringwatch.sqlite")
        return
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    name = cluster.create_db()
    try:
        yield cluster.url(name)
    finally:
        cluster.drop_db(name)
