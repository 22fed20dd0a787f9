"""The delivery worker in the app: its providers from the settings and a thread that runs
passes until stopped.

The cascade needs a quick pass (the law wants the receipt sent at settlement, and the target is
a first attempt within 5 s of fiscalisation), so it runs in its own thread on a short poll rather
than in the job loop; every app worker may run one (claims are compare-and-set). E-mail goes
to the SMTP relay when one is configured; SMS and the messengers to the provider each names
(fleet/delivery/providers: an SMSC.ru gateway, or the in-process loopback for development).
With ``delivery_bounce_listen`` the thread also serves the inbound SMTP endpoint that reads
DSNs (bounces.py).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import ClassVar

from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.core.clock import Clock
from fleet.core.config import Settings
from fleet.delivery.bounces import BounceInbox
from fleet.delivery.cascade import Provider
from fleet.delivery.channels import Channel, enabled_channels
from fleet.delivery.message import Outgoing
from fleet.delivery.providers import email_provider, phone_providers
from fleet.delivery.worker import DeliveryWorker

__all__ = [
    "LoopbackChannels",
    "build_providers",
    "start_bounce_inbox",
    "start_delivery_thread",
]

log = logging.getLogger(__name__)


@dataclass
class LoopbackChannels:
    """Accepts every message and reports it delivered; keeps the last ones (development)."""

    idempotent: ClassVar[bool] = True
    sent: deque[tuple[str, str, Outgoing]] = field(default_factory=lambda: deque(maxlen=1000))
    by_key: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, channel: str, address: str, message: Outgoing, key: str) -> str:
        with self._lock:
            if key in self.by_key:
                return self.by_key[key]
            pid = f"loop-{channel}-{next(self._ids)}"
            self.sent.append((channel, address, message))
            if len(self.by_key) > 100_000:  # bounded memory; a crash window is seconds long
                self.by_key.clear()
            self.by_key[key] = pid
            return pid

    def report(self, provider_id: str) -> str:
        return "delivered"


def build_providers(settings: Settings, engine: Engine | None = None) -> dict[Channel, Provider]:
    """The configured channels with their providers (fleet/delivery/providers; ``engine``
    reads the delivery reports gateways post back)."""
    channels = enabled_channels(
        [c.strip() for c in settings.delivery_channels.split(",") if c.strip()]
    )
    loop = LoopbackChannels()
    phone = phone_providers(settings, engine, loop)
    out: dict[Channel, Provider] = {}
    for c in channels:
        if c is Channel.EMAIL:
            out[c] = email_provider(settings) or loop
        elif c in phone:
            out[c] = phone[c]
    return out


def start_bounce_inbox(engine: Engine, clock: Clock, settings: Settings) -> Controller | None:
    """The inbound SMTP endpoint for DSNs when ``delivery_bounce_listen`` and the domain are
    set (bounces.BounceInbox); None otherwise."""
    if not (settings.delivery_bounce_listen and settings.delivery_bounce_domain):
        return None
    host, _, port = settings.delivery_bounce_listen.rpartition(":")
    handler = BounceInbox(
        lambda: Session(engine), clock, settings.secret_key, settings.delivery_bounce_domain
    )
    controller = Controller(handler, hostname=host or "0.0.0.0", port=int(port))
    controller.start()
    return controller


def start_delivery_thread(
    engine: Engine, clock: Clock, settings: Settings, stop: threading.Event
) -> threading.Thread:
    """Run worker passes every ``delivery_poll_s`` until ``stop`` (a failed pass is logged and
    the next one retries: everything a pass does is resumable)."""
    worker = DeliveryWorker(
        engine,
        clock,
        build_providers(settings, engine),
        settings.base_url,
        settings.secret_key,
    )

    inbox = start_bounce_inbox(engine, clock, settings)

    def work() -> None:
        while not stop.is_set():
            try:
                busy = worker.run_once()
            except Exception:
                log.exception("delivery pass failed")
                busy = 0
            if not busy:
                stop.wait(settings.delivery_poll_s)
        if inbox is not None:
            inbox.stop()

    thread = threading.Thread(target=work, name="delivery", daemon=True)
    thread.start()
    return thread
