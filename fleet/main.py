"""The fleet application factory: `create_app(settings)` builds everything, nothing at import."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.engine import Engine

from fleet.access import api as access_api
from fleet.access import pages as access_pages
from fleet.accounts import api as accounts_api
from fleet.accounts import pages as accounts_pages
from fleet.accounts.mail import MailSender, MemoryMailSender, SmtpMailSender
from fleet.accounts.passwords import Passwords
from fleet.adreceipts import api as adreceipts_api
from fleet.adreceipts import pages as adreceipts_pages
from fleet.billing import api as billing_api
from fleet.billing import pages as billing_pages
from fleet.bookings import api as bookings_api
from fleet.bookings import pages as bookings_pages
from fleet.capacity import pages as capacity_pages
from fleet.compat.atol import api as atol_api
from fleet.compat.ferma import api as ferma_api
from fleet.compliance import pages as compliance_pages
from fleet.compliance.digest import weekly_job as compliance_weekly_job
from fleet.console import pages as console_pages
from fleet.contract import api as contract_api
from fleet.contract import pages as contract_pages
from fleet.core.clock import Clock, SystemClock
from fleet.core.config import Settings
from fleet.core.db import make_engine
from fleet.core.errors import install_error_handlers
from fleet.core.migrate import upgrade
from fleet.dashboard import pages as dashboard_pages
from fleet.delivery import pages as delivery_pages
from fleet.delivery.providers import callback as delivery_dlr
from fleet.delivery.runner import start_delivery_thread
from fleet.deps import AppState
from fleet.drives import api as drives_api
from fleet.drives import pages as drives_pages
from fleet.drives.jobs import forecast_job
from fleet.edo import pages as edo_pages
from fleet.edo.gateway import HttpEdoGateway
from fleet.edo.jobs import edo_job, seller_from
from fleet.general import pages as general_pages
from fleet.guides import pages as guides_pages
from fleet.jobs.runner import JobRunner
from fleet.jobs.schedule import SCHEDULE
from fleet.notify import api as notify_api
from fleet.notify import pages as notify_pages
from fleet.notify.delivery import mail_job
from fleet.receipts import api as receipts_api
from fleet.receipts.runner import start_receipts_thread
from fleet.receipts_cabinet import pages as receipts_cabinet_pages
from fleet.receipts_import import pages as receipts_import_pages
from fleet.registers import api as registers_api
from fleet.registers import pages as registers_pages
from fleet.registration import api as registration_api
from fleet.registration import lifecycle_api as registration_lifecycle_api
from fleet.registration import lifecycle_pages as registration_lifecycle_pages
from fleet.registration import pages as registration_pages
from fleet.registration.gateway import HttpFnsGateway
from fleet.registration.jobs import report_job as registration_report_job
from fleet.reports import pages as reports_pages
from fleet.reports.schedules import schedule_job as reports_schedule_job
from fleet.rollouts import pages as rollouts_pages
from fleet.sandbox import api as sandbox_api
from fleet.stock import pages as stock_pages
from fleet.stores import api as stores_api
from fleet.stores import pages as stores_pages
from fleet.web import pages as web_pages

__all__ = ["create_app", "make_mailer", "make_templates"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"


def make_templates() -> Environment:
    """The Jinja2 environment (autoescaping on)."""
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())


def make_mailer(settings: Settings) -> MailSender:
    """SMTP when a host is configured, else the in-memory sink (development)."""
    if settings.smtp_host:
        return SmtpMailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.mail_from,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        )
    return MemoryMailSender()


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    mailer: MailSender | None = None,
    engine: Engine | None = None,
) -> FastAPI:
    """Build the app. Explicit arguments win over settings; settings read the environment."""
    settings = settings or Settings()
    state = AppState(
        settings=settings,
        clock=clock or SystemClock(),
        engine=engine or make_engine(settings.database_url),
        mailer=mailer or make_mailer(settings),
        passwords=Passwords(
            time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
        ),
        templates=make_templates(),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            upgrade(state.engine)
        stop = threading.Event()
        worker: threading.Thread | None = None
        if settings.run_jobs:
            jobs = (
                *SCHEDULE,
                forecast_job(settings.drive_lead_days),
                mail_job(state.mailer, settings.base_url),
                compliance_weekly_job(state.mailer, settings.base_url),
                reports_schedule_job(state.mailer),
                registration_report_job(HttpFnsGateway(settings.fns_url)),
                edo_job(HttpEdoGateway(settings.edo_url), seller_from(settings)),
            )
            runner = JobRunner(state.engine, state.clock, jobs, lease_s=settings.job_lease_s)
            worker = threading.Thread(
                target=runner.run_forever,
                args=(stop, settings.job_poll_s),
                name="fleet-jobs",
                daemon=True,
            )
            worker.start()
        delivery: threading.Thread | None = None
        if settings.run_jobs and settings.run_delivery:
            delivery = start_delivery_thread(state.engine, state.clock, settings, stop)
        receipts: threading.Thread | None = None
        if settings.mqtt_url and settings.run_receipts:
            receipts = start_receipts_thread(
                state.engine,
                settings.mqtt_url,
                settings.mqtt_root,
                stop,
                clock=state.clock,
                poll_s=settings.receipts_poll_s,
            )
        try:
            yield
        finally:
            stop.set()
            if worker is not None:
                worker.join(timeout=30)
            if receipts is not None:
                receipts.join(timeout=30)
            if delivery is not None:
                delivery.join(timeout=30)

    app = FastAPI(
        title="Облако: кабинет клиента и управление парком касс",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.fleet = state
    app.state.templates = state.templates
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # first: POST /api/receipts, the integrator API's hot path, is the first route tried
    # (was ~90 routes in); only that method and path, so no other route's match changes
    app.include_router(receipts_api.create_router)
    app.include_router(web_pages.router)
    app.include_router(dashboard_pages.router)
    app.include_router(general_pages.router)
    app.include_router(accounts_api.router)
    app.include_router(access_api.router)
    app.include_router(access_pages.router)
    app.include_router(bookings_api.router)
    app.include_router(bookings_pages.router)
    app.include_router(billing_api.router)
    app.include_router(billing_api.operator_router)
    app.include_router(billing_api.callback_router)
    app.include_router(billing_pages.router)
    app.include_router(contract_api.router)
    app.include_router(contract_pages.router)
    app.include_router(receipts_cabinet_pages.api_router)  # before /api/receipts/{receipt_id}
    app.include_router(receipts_api.router)
    app.include_router(receipts_cabinet_pages.router)
    app.include_router(receipts_import_pages.router)
    app.include_router(receipts_api.operator_router)
    app.include_router(registers_api.router)
    app.include_router(registers_api.operator_router)
    app.include_router(accounts_pages.router)
    app.include_router(registers_pages.router)
    app.include_router(registration_api.router)
    app.include_router(registration_pages.router)
    app.include_router(registration_lifecycle_api.router)
    app.include_router(registration_lifecycle_api.rules_router)
    app.include_router(registration_lifecycle_api.operator_router)
    app.include_router(registration_lifecycle_pages.router)
    app.include_router(stores_api.router)
    app.include_router(stores_pages.router)
    app.include_router(drives_api.router)
    app.include_router(drives_pages.router)
    app.include_router(notify_api.router)
    app.include_router(notify_pages.router)
    app.include_router(console_pages.router)
    app.include_router(rollouts_pages.router)
    app.include_router(capacity_pages.router)
    app.include_router(stock_pages.router)
    app.include_router(reports_pages.router)
    app.include_router(edo_pages.router)
    app.include_router(guides_pages.router)
    app.include_router(atol_api.production_router)
    app.include_router(atol_api.sandbox_router)
    app.include_router(ferma_api.production_router)
    app.include_router(ferma_api.sandbox_router)
    app.include_router(sandbox_api.router)
    app.include_router(sandbox_api.cabinet_router)
    app.include_router(adreceipts_api.router)
    app.include_router(adreceipts_pages.router)
    app.include_router(delivery_pages.router)
    app.include_router(delivery_pages.public_router)
    app.include_router(delivery_dlr.router)
    app.include_router(compliance_pages.router)
    return app
