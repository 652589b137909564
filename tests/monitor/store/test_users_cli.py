"""``ringwatch users add|list|passwd`` against a SQLite store."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from monitor.cli.main import cli, main
from monitor.store import Store


def test_add_list_passwd(tmp_path: Path) -> None:
    db = str(tmp_path / "rw.sqlite")
    pw = tmp_path / "pw.txt"
    pw.write_text("a long password\n")
    runner = CliRunner()
    res = runner.invoke(
        cli, ["users", "add", "ann", "--role", "qa", "--password-file", str(pw), "--store", db]
    )
    assert res.exit_code == 0, res.output
    assert "added user ann (qa)" in res.output
    res = runner.invoke(
        cli,
        ["users", "add", "bob", "--role", "admin", "--store", db],
        input="another long one\nanother long one\n",
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["users", "list", "--store", db])
    assert res.output.splitlines() == ["ann\tqa\tenabled", "bob\tadmin\tenabled"]
    res = runner.invoke(
        cli, ["users", "passwd", "ann", "--store", db], input="brand new secret\nbrand new secret\n"
    )
    assert res.exit_code == 0, res.output
    store = Store.open(db)
    assert store.authenticate("ann", "brand new secret") is not None
    assert store.authenticate("bob", "another long one") is not None
    store.close()


def test_errors_are_clear(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "rw.sqlite")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert (
        main(["users", "add", "ann", "--role", "qa", "--password-file", str(empty), "--store", db])
        == 2
    )
    assert "empty.txt:1: the password file is empty" in capsys.readouterr().err
    short = tmp_path / "short.txt"
    short.write_text("abc\n")
    assert (
        main(["users", "add", "ann", "--role", "qa", "--password-file", str(short), "--store", db])
        == 2
    )
    assert "too short" in capsys.readouterr().err
    assert main(["users", "add", "ann", "--role", "boss", "--store", db]) == 2


def test_schema_includes_promise_tables(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "rw.sqlite"))
    with store.engine.connect() as conn:
        names = {
            r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")
        }
    store.close()
    assert {
        "calls",
        "findings",
        "flags",
        "reviews",
        "users",
        "audit_log",
        "sessions",
        "promises",
        "promise_events",
    } <= names
