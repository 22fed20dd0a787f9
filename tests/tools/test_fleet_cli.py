"""`oblako fleet operator grant | provision | mqtt-auth` on a SQLite database of their own."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session
from typer.testing import CliRunner

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import User
from fleet.accounts.passwords import Passwords
from fleet.accounts.service import AccountsContext, sign_up
from fleet.core.clock import SettableClock
from fleet.core.config import Settings
from fleet.core.db import make_engine
from fleet.link.credentials import verify
from oblako.cli import app
from tests.fleet.oracle import company_requisites

runner = CliRunner()


def test_provision_mqtt_auth_and_operator_grant(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    env = {"DATABASE_URL": url}
    out = tmp_path / "identity.json"

    bad = runner.invoke(app, ["fleet", "provision", "a/b"], env=env)
    assert bad.exit_code != 0 and "Серийный номер" in bad.output

    made = runner.invoke(
        app, ["fleet", "provision", "0000000042", "--mqtt", "mqtt://b:1883", "--out", str(out)],
        env=env,
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    identity = json.loads(out.read_text())
    assert identity["serial"] == identity["username"] == "0000000042"
    assert identity["mqtt_url"] == "mqtt://b:1883" and oct(out.stat().st_mode & 0o777) == "0o600"

    passwd, acl = tmp_path / "passwd", tmp_path / "acl"
    auth = runner.invoke(
        app,
        [
            "fleet",
            "mqtt-auth",
            "--passwd",
            str(passwd),
            "--acl",
            str(acl),
            "--fleet-account",
            "ingest",
        ],
        env=env,
    )
    assert auth.exit_code == 0, auth.output
    lines = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    assert set(lines) == {"0000000042", "fleet-ingest"}
    assert verify(identity["password"], lines["0000000042"])
    fleet_password = auth.output.split("пароль fleet-ingest: ")[1].strip()
    assert verify(fleet_password, lines["fleet-ingest"])
    assert "pattern read oblako/v1/reg/%u/cmd" in acl.read_text()

    unknown = runner.invoke(app, ["fleet", "operator", "grant", "nobody@example.ru"], env=env)
    assert unknown.exit_code != 0 and "не найден" in unknown.output
    engine = make_engine(url)
    ctx = AccountsContext(
        Settings(environment="test"),
        SettableClock(),
        MemoryMailSender(),
        Passwords(time_cost=1, memory_kib=8),
    )
    with Session(engine) as session:
        inn, ogrn = company_requisites(7)
        sign_up(
            session=session, ctx=ctx, email="staff@example.ru", password="верный-пароль-123",
            company_name="ООО «Облако»", inn=inn, ogrn=ogrn,
        )  # fmt: skip
    granted = runner.invoke(app, ["fleet", "operator", "grant", "Staff@Example.ru"], env=env)
    assert granted.exit_code == 0, granted.output
    with Session(engine) as session:
        user = session.query(User).filter(User.email == "staff@example.ru").one()
        assert user.is_operator
    engine.dispose()


def test_fleet_ingest_runs_until_sigterm(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from simulator.broker import EmbeddedBroker

    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'fleet.db'}")
    with EmbeddedBroker() as broker:
        proc = subprocess.Popen(
            [sys.executable, "-m", "oblako", "fleet", "ingest", "--mqtt", broker.url,
             "--no-shared", "--root", "cli-test"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(3)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "остановлен" in err
    assert (tmp_path / "fleet.db").exists()  # migrated at start
