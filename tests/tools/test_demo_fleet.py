"""`make demo` end to end: the whole service on embedded defaults (or MQTT_URL/DATABASE_URL).

The demo seeds its client through the fleet's services, registers its registers with the
simulated tax service (each makes its registration report over MQTT), sends receipts through
the integrator API and stops once the OFD confirmed them all; then the database must hold each
receipt fiscalised exactly once, with the drive archive's document behind it.
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlmodel import Session, col

from fleet.core.db import make_engine
from fleet.documents.models import FiscalDocument
from fleet.receipts.models import Receipt, ReceiptPart
from fleet.registers.models import Register, RegisterState
from oblako.demo_fleet import run_fleet_demo
from oblako.demo_seed import CLIENT_EMAIL, PASSWORD
from oblako.demo_stack import drop_database


def test_demo_registers_sells_and_confirms(tmp_path: Path) -> None:
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False)
    name = f"oblako_demo_{uuid.uuid4().hex[:8]}"  # a throwaway database on PostgreSQL
    confirmed = run_fleet_demo(
        registers=2,
        rate=20,
        receipts=8,
        port=0,
        base=tmp_path / "demo",
        console=console,
        database_name=name,
    )
    shown = out.getvalue()
    assert confirmed == 8, shown
    assert CLIENT_EMAIL in shown and PASSWORD in shown and "http://127.0.0.1:" in shown
    assert shown.count("отчёт о регистрации ФД 1") == 2, shown  # the first document of each drive

    url = os.environ.get("DATABASE_URL")
    if url and url.startswith("postgresql"):
        url = make_url(url).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'demo' / 'oblako.db'}"
    engine = make_engine(url)
    try:
        with Session(engine) as s:
            states = s.execute(select(col(Register.state))).scalars().all()
            assert states == [RegisterState.ACTIVE.value] * 2
            receipts = s.execute(select(col(Receipt.status))).scalars().all()
            assert receipts == ["confirmed"] * 8
            parts = s.execute(
                select(
                    col(ReceiptPart.fn_number),
                    col(ReceiptPart.fd_number),
                    col(ReceiptPart.fiscal_sign),
                )
            ).all()
            assert len(parts) == len(set(parts)) == 8
            for fn, fd, fs in parts:  # the fleet stored each one's document, exactly once
                n = s.execute(
                    select(func.count())
                    .select_from(FiscalDocument)
                    .where(
                        col(FiscalDocument.fn_number) == fn,
                        col(FiscalDocument.fd_number) == fd,
                        col(FiscalDocument.fiscal_sign) == str(fs),
                        col(FiscalDocument.ofd_status) == "accepted",
                    )
                ).scalar_one()
                assert n == 1, (fn, fd, fs)
    finally:
        engine.dispose()
        drop_database(os.environ.get("DATABASE_URL"), name)
