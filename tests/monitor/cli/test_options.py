"""One ``--store`` / ``RINGWATCH_STORE`` and one data directory for every command (issue 17,
point 4): which store a command uses, which commands may create one, and that a typo is an
error (exit 2) rather than a new empty database."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import run_cmd
from monitor.cli.main import cli, main
from monitor.cli.options import check_store, resolve_store, sqlite_path
from monitor.errors import InputError, StoreError
from monitor.paths import data_dir, default_store_path, default_store_url
from monitor.service import Service
from monitor.store import Store

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory (RINGWATCH_DATA), no RINGWATCH_STORE, run from elsewhere."""
    monkeypatch.setenv("RINGWATCH_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("RINGWATCH_STORE", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path / "data"


def _password_file(tmp_path: Path) -> str:
    path = tmp_path / "pw.txt"
    path.write_text("a-long-password-1\n")
    return str(path)


def test_data_dir_env_then_xdg_then_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RINGWATCH_DATA", str(tmp_path / "rw"))
    assert data_dir() == tmp_path / "rw"
    assert default_store_path() == tmp_path / "rw/ringwatch.sqlite"
    assert default_store_url() == f"sqlite:///{tmp_path / 'rw/ringwatch.sqlite'}"
    monkeypatch.delenv("RINGWATCH_DATA")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg/ringwatch"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the XDG spec: must be absolute
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_dir() == tmp_path / "home/.local/share/ringwatch"


def test_sqlite_path_of_each_url_form(tmp_path: Path) -> None:
    assert sqlite_path("x/y.sqlite") == Path("x/y.sqlite")
    assert sqlite_path("sqlite:///rel.sqlite") == Path("rel.sqlite")
    assert sqlite_path(f"sqlite:///{tmp_path}/a.sqlite") == tmp_path / "a.sqlite"
    assert sqlite_path("sqlite+pysqlite:////abs/b.db?timeout=3") == Path("/abs/b.db")
    assert sqlite_path("sqlite://") is None and sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql://u:p@db/ringwatch") is None


def test_store_chosen_by_option_then_config_then_default(data: Path) -> None:
    assert resolve_store("given.sqlite", "sqlite:///conf.sqlite") == "given.sqlite"
    assert resolve_store(None, "sqlite:///conf.sqlite") == "sqlite:///conf.sqlite"
    assert resolve_store(None) == f"sqlite:///{data / 'ringwatch.sqlite'}"


def test_a_missing_store_is_refused_unless_the_command_creates(data: Path) -> None:
    with pytest.raises(StoreError, match=r"does not exist; check the path"):
        check_store("typo.sqlite", create=False)
    with pytest.raises(StoreError, match="is a directory"):
        check_store(str(data.parent), create=True)
    # creating in the data directory makes it; anywhere else the folder must exist
    assert check_store(default_store_url(), create=True) == default_store_url()
    assert data.is_dir()
    assert check_store("postgresql://u@db/rw", create=False) == "postgresql://u@db/rw"


def test_users_list_with_a_typo_is_an_error_and_creates_nothing(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["users", "list", "--store", "typo.sqlite"]) == 2
    err = capsys.readouterr().err
    assert "ringwatch: error: store 'typo.sqlite' does not exist" in err
    assert not Path("typo.sqlite").exists() and not data.exists()
    pw = _password_file(data.parent)
    assert main(["users", "passwd", "bob", "--store", "typo.sqlite", "--password-file", pw]) == 2
    assert not Path("typo.sqlite").exists()


def test_users_add_creates_the_default_store_that_promises_and_list_then_use(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["promises", "list"]) == 2  # nothing yet: refused, not created
    assert "does not exist" in capsys.readouterr().err
    assert not data.exists()
    pw = _password_file(tmp_path)
    assert main(["users", "add", "alice", "--role", "qa", "--password-file", pw]) == 0
    assert default_store_path().is_file()
    assert main(["users", "list"]) == 0
    assert "alice\tqa\tenabled" in capsys.readouterr().out
    assert main(["promises", "list"]) == 0
    assert not Path("ringwatch-data").exists()


def test_promises_take_store_and_the_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: Path
) -> None:
    store = tmp_path / "elsewhere.sqlite"
    Store.open(str(store)).close()
    monkeypatch.setenv("RINGWATCH_STORE", str(store))
    out = CliRunner().invoke(cli, ["promises", "--country", "GB", "add", "07700 900123",
                                   "--due", "2h"])  # fmt: skip
    assert out.exit_code == 0, out.output
    monkeypatch.delenv("RINGWATCH_STORE")
    listed = CliRunner().invoke(cli, ["promises", "--store", str(store), "list", "--json"])
    assert listed.exit_code == 0 and "+447700900123" in listed.output
    help_text = CliRunner().invoke(cli, ["promises", "--help"]).output
    assert "--store" in help_text and "--db" not in help_text
    # --help of a subcommand never needs the store to exist
    assert CliRunner().invoke(cli, ["promises", "list", "--help"]).exit_code == 0


def test_every_store_command_has_the_same_option() -> None:
    for args in (["run"], ["demo"], ["promises"], ["users", "add"], ["users", "list"],
                 ["users", "passwd"]):  # fmt: skip
        text = CliRunner().invoke(cli, [*args, "--help"]).output
        assert "--store PATH|URL" in text and "RINGWATCH_STORE" in text, args


def test_demo_uses_the_store_users_add_writes(data: Path, tmp_path: Path) -> None:
    pw = _password_file(tmp_path)
    assert main(["users", "add", "alice", "--role", "qa", "--password-file", pw]) == 0
    seen: dict[str, str] = {}

    def ready(service: Service, base: str, _sim: object) -> None:
        seen["store"] = service.cfg.store_url
        service.request_stop()

    asyncio.run(
        run_cmd.run_demo(
            data_dir(), speed=10, seed=1, web_port=0, duration=30, echo=False, on_ready=ready
        )
    )
    assert seen["store"] == default_store_url()
    store = Store.open(seen["store"])
    try:
        assert {u.name for u in store.users()} == {"alice", "demo"}
    finally:
        store.close()
    assert not Path("ringwatch-data").exists()


def test_demo_ports_are_settable_and_move_on_when_taken() -> None:
    text = CliRunner().invoke(cli, ["demo", "--help"]).output
    assert "--ami-port" in text and "default: 5038" in text and "next free one" in text
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert run_cmd._free_port("127.0.0.1", taken) != taken
        assert run_cmd._free_port("127.0.0.1", taken) in range(taken + 1, taken + 20)

        async def start() -> int:
            from monitor.simulator import ContactCentre, default_config

            sim = await run_cmd._start_simulator(
                ContactCentre(default_config(), seed=1, start=0.0), "s", taken
            )
            await sim.stop()
            return sim.port

        assert asyncio.run(start()) in range(taken + 1, taken + 20)
    with pytest.raises(InputError, match="--ami-port"):
        raise run_cmd._taken(5038, "PBX simulator (AMI)", "--ami-port")


def test_run_creates_its_store_in_the_data_directory_not_in_the_current_one(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    config = work / "ringwatch.yml"
    with socket.socket() as closed:  # a PBX port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    config.write_text(
        f"pbx:\n  - {{name: main, host: 127.0.0.1, port: {port}, username: u, "
        "secret_env: RW_TEST_SECRET}\n"
        f"rules: {{dir: {ROOT / 'rules'}}}\nweb: {{listen: '127.0.0.1:0', enabled: false}}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RINGWATCH_")}
    env.update(RINGWATCH_DATA=str(tmp_path / "data"), RW_TEST_SECRET="x")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli.main", "run", "--config", str(config)],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("ringwatch: 1 PBX(s)"), first
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert (tmp_path / "data/ringwatch.sqlite").is_file()
    assert sorted(p.name for p in work.iterdir()) == ["ringwatch.yml"]


def test_demo_without_asterisk_sounds_runs_without_recordings(tmp_path: Path) -> None:
    moh = tmp_path / "moh.wav"
    moh.write_bytes(b"RIFF")
    assert run_cmd.recordings_missing(tmp_path, moh) is None
    why = run_cmd.recordings_missing(tmp_path / "no-sounds", moh)
    assert why is not None and "apt-get install asterisk-core-sounds-en-wav" in why
    cfg = run_cmd.build_demo_config(tmp_path, 5038, "s", 8080, audio=False)
    assert not cfg.audio_enabled and cfg.recordings_dir is None
    cfg = run_cmd.build_demo_config(tmp_path, 5038, "s", 8080)
    assert cfg.audio_enabled and cfg.recordings_dir == tmp_path / "demo-recordings"
    assert cfg.store_url == f"sqlite:///{tmp_path / 'ringwatch.sqlite'}"
