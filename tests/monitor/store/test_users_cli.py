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


def test_passwd_disable_delete_end_sessions_and_are_audited(tmp_path: Path) -> None:
    db = str(tmp_path / "rw.sqlite")
    store = Store.open(db)
    store.add_user("ann", "qa", "a long password")
    store.add_user("bob", "admin", "a long password")
    ann1, _ = store.create_session("ann", 3600)
    ann2, _ = store.create_session("ann", 3600)
    bob, _ = store.create_session("bob", 3600)
    store.close()
    pw = tmp_path / "pw.txt"
    pw.write_text("brand new secret\n")
    runner = CliRunner()

    res = runner.invoke(cli, ["users", "passwd", "ann", "--password-file", str(pw), "--store", db])
    assert res.exit_code == 0, res.output
    assert "password changed for ann; 2 sessions ended" in res.output
    store = Store.open(db)
    assert store.session(ann1) is None and store.session(ann2) is None
    assert store.session(bob) is not None  # only ann's
    ann3, _ = store.create_session("ann", 3600)
    store.close()

    res = runner.invoke(cli, ["users", "disable", "ann", "--store", db])
    assert res.exit_code == 0 and "disabled user ann; 1 session ended" in res.output
    store = Store.open(db)
    assert store.session(ann3) is None
    assert store.authenticate("ann", "brand new secret") is None
    store.close()
    res = runner.invoke(cli, ["users", "enable", "ann", "--store", db])
    assert res.exit_code == 0 and "enabled user ann" in res.output
    res = runner.invoke(cli, ["users", "list", "--store", db])
    assert "ann\tqa\tenabled" in res.output

    res = runner.invoke(cli, ["users", "delete", "bob", "--store", db], input="n\n")
    assert res.exit_code != 0  # not confirmed: kept
    res = runner.invoke(cli, ["users", "delete", "bob", "--yes", "--store", db])
    assert res.exit_code == 0 and "deleted user bob; 1 session ended" in res.output
    store = Store.open(db)
    assert store.session(bob) is None and [u.name for u in store.users()] == ["ann"]
    actions = [(e.action, e.detail.get("name")) for e in store.audit_entries()]
    store.close()
    for expected in (
        ("user_passwd", "ann"),
        ("user_disable", "ann"),
        ("user_enable", "ann"),
        ("user_delete", "bob"),
    ):
        assert expected in actions


def test_unknown_user_is_a_clear_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    db = str(tmp_path / "rw.sqlite")
    Store.open(db).close()  # the store exists (only `users add` may create one)
    for command in (["disable", "zed"], ["enable", "zed"], ["delete", "zed", "--yes"]):
        assert main(["users", *command, "--store", db]) == 2
        assert "no user 'zed'; list them with 'ringwatch users list'" in capsys.readouterr().err


def test_add_an_agent_login_linked_to_the_agent_on_calls(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Issue 19, item 9: ``users add NAME --role agent --agent "Agent Name"``."""
    db = str(tmp_path / "rw.sqlite")
    pw = tmp_path / "pw.txt"
    pw.write_text("a long password\n")
    base = ["users", "add", "carol", "--password-file", str(pw), "--store", db]
    assert main([*base, "--role", "agent"]) == 2
    assert "--role agent needs --agent NAME" in capsys.readouterr().err
    assert main([*base, "--role", "qa", "--agent", "Carol Clark"]) == 2
    assert "--agent is only for --role agent" in capsys.readouterr().err
    runner = CliRunner()
    res = runner.invoke(cli, [*base, "--role", "agent", "--agent", "Carol Clark"])
    assert res.exit_code == 0, res.output
    assert "added user carol (agent, agent Carol Clark)" in res.output
    res = runner.invoke(cli, ["users", "list", "--store", db])
    assert res.output.splitlines() == ["carol\tagent\tenabled\tCarol Clark"]
    store = Store.open(db)
    try:
        assert store.agent_for("carol") == "Carol Clark"
    finally:
        store.close()
