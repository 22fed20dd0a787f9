"""Settings, the clock, the mail senders, the error mapping and serve()."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

import fleet.serve
from fleet.accounts.mail import OutgoingMail, SmtpMailSender
from fleet.core.clock import SettableClock, SystemClock
from fleet.core.config import Settings
from fleet.core.db import normalise_url
from fleet.core.errors import (
    ConflictError,
    DomainError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    status_for,
)


def test_settings_defaults_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert Settings().database_url == "sqlite:///var/oblako.db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("FLEET_SMTP_HOST", "mail.local")
    settings = Settings()
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.smtp_host == "mail.local"
    assert Settings(database_url="sqlite://").database_url == "sqlite://"


def test_default_secret_refused_outside_dev() -> None:
    Settings(environment="dev")
    Settings(environment="test")
    with pytest.raises(ValidationError, match="FLEET_SECRET_KEY"):
        Settings(environment="prod", cookie_secure=True)
    with pytest.raises(ValidationError, match="FLEET_COOKIE_SECURE"):
        Settings(environment="prod", secret_key="x" * 40, acquiring_secret="y" * 40)
    with pytest.raises(ValidationError, match="FLEET_ACQUIRING_SECRET"):
        Settings(environment="prod", secret_key="x" * 40, cookie_secure=True)
    Settings(environment="prod", secret_key="x" * 40, cookie_secure=True, acquiring_secret="y" * 40)


def test_postgres_urls_use_psycopg3() -> None:
    assert normalise_url("postgresql://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_settable_clock() -> None:
    clock = SettableClock(start=1000.0)
    clock.sleep(5)
    clock.advance(7 * 86400)
    assert clock.wall() == 1000.0 + 5 + 7 * 86400
    assert clock.monotonic() == 5 + 7 * 86400
    with pytest.raises(ValueError):
        clock.advance(-1)
    real = SystemClock()
    assert real.monotonic() <= real.monotonic()
    assert real.wall() > 1.7e9


def test_error_statuses() -> None:
    assert status_for(InvalidInputError("x")) == 422
    assert status_for(NotFoundError("x")) == 404
    assert status_for(ConflictError("x")) == 409
    assert status_for(RateLimitedError("x", retry_after_s=3)) == 429
    assert status_for(DomainError("x")) == 400


class FakeSmtp:
    sent: ClassVar[list[Any]] = []
    calls: ClassVar[list[str]] = []

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.calls.append(f"connect {host}:{port}")

    def __enter__(self) -> FakeSmtp:
        return self

    def __exit__(self, *args: object) -> None:
        self.calls.append("quit")

    def starttls(self) -> None:
        self.calls.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.calls.append(f"login {user}")

    def send_message(self, message: Any) -> None:
        self.sent.append(message)


def test_smtp_sender(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fleet.accounts.mail.smtplib.SMTP", FakeSmtp)
    sender = SmtpMailSender(
        host="mx", port=587, sender="Облако <a@b.ru>", starttls=True, username="u", password="p"
    )
    sender.send(OutgoingMail(to="c@d.ru", subject="Тема", body="Текст"))
    assert FakeSmtp.calls == ["connect mx:587", "starttls", "login u", "quit"]
    message = FakeSmtp.sent[-1]
    assert message["To"] == "c@d.ru"
    assert message["Subject"] == "Тема"
    assert "Текст" in message.get_content()


def test_serve_runs_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        seen["app"] = app
        seen.update(kwargs)

    monkeypatch.setattr("uvicorn.run", fake_run)
    fleet.serve.serve("0.0.0.0", 8123, Settings(environment="test", database_url="sqlite://"))
    assert seen["host"] == "0.0.0.0" and seen["port"] == 8123
    assert seen["app"].title.startswith("Облако")
