"""A company with a register, money and fiscalised receipts naming a buyer's contact."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bench.delivery_sim import SimProvider
from fleet.accounts.models import Company
from fleet.billing import ledger
from fleet.core.clock import SettableClock
from fleet.delivery.cascade import Provider
from fleet.delivery.channels import Channel
from fleet.delivery.worker import DeliveryWorker
from fleet.receipts.models import Receipt, ReceiptPart, ReceiptStatus, RoutingProfile
from simulator.channels import FakeChannels
from tests.fleet import objects

_n = itertools.count(1)
SECRET = "test-secret-key"


@dataclass
class World:
    engine: Engine
    clock: SettableClock
    company_id: int
    register_id: int
    fake: FakeChannels
    providers: dict[Channel, Provider] = field(default_factory=dict)

    def worker(self, **kw: object) -> DeliveryWorker:
        return DeliveryWorker(
            self.engine,
            self.clock,
            self.providers,
            "https://oblako.test",
            SECRET,
            **kw,  # type: ignore[arg-type]
        )

    def receipt(
        self,
        contact: str | None,
        *,
        status: ReceiptStatus = ReceiptStatus.FISCALISED,
        total: int = 12345,
    ) -> int:
        now = self.clock.wall()
        n = next(_n)
        external_id = f"order-{n}"
        body: dict[str, object] = {
            "id": external_id,
            "operation": "sale",
            "items": [{"name": "Хлеб", "price": total, "quantity": "1", "sum": total}],
            "payments": {"electronic": total},
            "total": total,
        }
        if contact is not None:
            body["buyer_contact"] = contact
        with Session(self.engine) as s:
            r = Receipt(
                company_id=self.company_id,
                external_id=external_id,
                body_hash=f"h{n}",
                body=body,
                kind="sale",
                total=total,
                status=status.value,
                created_at=now,
                updated_at=now,
                fiscalised_at=now if status is not ReceiptStatus.ACCEPTED else None,
            )
            s.add(r)
            s.flush()
            assert r.id is not None
            s.add(
                ReceiptPart(
                    receipt_id=r.id,
                    company_id=self.company_id,
                    part_no=1,
                    request_id=f"req-{n}",
                    action="receipt",
                    request=body,
                    total=total,
                    status=status.value,
                    register_id=self.register_id,
                    fn_number="7380440700076549",
                    fd_number=100 + n,
                    fiscal_sign="1234567890",
                    shift_number=1,
                    receipt_number=n,
                    document_time="2024-01-15T10:30",
                    qr=(
                        f"t=20240115T1030&s={total // 100}.{total % 100:02d}"
                        f"&fn=7380440700076549&i={100 + n}&fp=1234567890&n=1"
                    ),
                    created_at=now,
                    updated_at=now,
                )
            )
            s.commit()
            return r.id

    def top_up(self, kop: int) -> None:
        with Session(self.engine) as s:
            ledger.credit(
                s,
                self.clock,
                company_id=self.company_id,
                amount=kop,
                source="bank",
                kind="bank",
                memo="пополнение",
                idempotency_key=f"topup-{next(_n)}",
            )
            s.commit()

    def balance(self) -> int:
        with Session(self.engine) as s:
            return ledger.balance(s, self.company_id)


def make_world(
    engine: Engine, clock: SettableClock, *, money: int = 100_000, company_id: int | None = None
) -> World:
    with Session(engine) as s:
        if company_id is None:
            co = Company(
                name="ООО «Ромашка»",
                inn="7707083893",
                ogrn="1027700132195",
                created_at=clock.wall(),
            )
            s.add(co)
            s.flush()
            assert co.id is not None
            company_id = co.id
        reg = objects.register(s, clock, company_id)
        s.add(
            RoutingProfile(
                register_id=reg,
                inn="7707083893",
                profile={"sender_email": "cheki@romashka.ru", "address": "Москва, Тверская, 1"},
                updated_at=clock.wall(),
            )
        )
        s.commit()
    fake = FakeChannels(now=clock.wall)
    sim = SimProvider(fake)
    world = World(
        engine,
        clock,
        company_id,
        reg,
        fake,
        {Channel.EMAIL: sim, Channel.SMS: sim, Channel.VK: sim, Channel.OK: sim},
    )
    if money:
        world.top_up(money)
    return world
