"""The e-mail channel to a relay that demands STARTTLS (RFC 3207) or TLS, and AUTH (RFC 4954):
real aiosmtpd servers with a self-signed certificate made for the test by openssl."""

from __future__ import annotations

import email
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword
from aiosmtpd.smtp import Session as SmtpSession

from fleet.delivery.cascade import ProviderRefusedError
from fleet.delivery.email import SmtpEmailProvider
from fleet.delivery.message import Outgoing

USER, PASSWORD = "oblako", "s3cret-relay-pa55"

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")


@dataclass
class _Relay:
    """Keeps letters with whether they came over TLS and which AUTH mechanism was used."""

    letters: list[tuple[Message, bool]] = field(default_factory=list)
    mechanisms: list[str] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802  (aiosmtpd's hook name)
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        raw = envelope.content
        assert isinstance(raw, bytes)
        transport = server.transport
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        self.letters.append((email.message_from_bytes(raw), tls))
        return "250 OK"

    def __call__(
        self, server: SMTP, session: SmtpSession, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.mechanisms.append(mechanism)
        return AuthResult(success=ok, handled=False)


@pytest.fixture(name="cert", scope="module")
def fixture_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("tls")
    cert, key = base / "relay.crt", base / "relay.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _server_context(cert: tuple[Path, Path]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


def _trusting(cert: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert[0]))


@pytest.fixture(name="starttls_relay")
def fixture_starttls_relay(
    cert: tuple[Path, Path], request: pytest.FixtureRequest
) -> Iterator[tuple[_Relay, int]]:
    """STARTTLS required before anything, AUTH required and only over TLS."""
    exclude: list[str] = getattr(request, "param", [])
    relay, port = _Relay(), _free_port()
    controller = Controller(
        relay,
        hostname="127.0.0.1",
        port=port,
        tls_context=_server_context(cert),
        require_starttls=True,
        authenticator=relay,
        auth_required=True,
        auth_require_tls=True,
        auth_exclude_mechanism=exclude,
    )
    controller.start()
    try:
        yield relay, port
    finally:
        controller.stop()


@pytest.mark.parametrize(
    ("starttls_relay", "mechanism"),
    [(["LOGIN"], "PLAIN"), (["PLAIN"], "LOGIN")],
    indirect=["starttls_relay"],
)
def test_starttls_and_auth(
    starttls_relay: tuple[_Relay, int], cert: tuple[Path, Path], mechanism: str
) -> None:
    relay, port = starttls_relay
    provider = SmtpEmailProvider(
        "127.0.0.1",
        port,
        sender="Облако <noreply@oblako.test>",
        security="starttls",
        username=USER,
        password=PASSWORD,
        tls_context=_trusting(cert),
    )
    try:
        provider.send("email", "buyer@example.ru", Outgoing(text="Чек"), "1:1:email")
        provider.send("email", "buyer@example.ru", Outgoing(text="Чек 2"), "2:1:email")
    finally:
        provider.close()
    assert [(m["To"], tls) for m, tls in relay.letters] == [("buyer@example.ru", True)] * 2
    assert relay.mechanisms == [mechanism]  # one connection, logged in once
    assert PASSWORD not in repr(provider)


def test_wrong_password_is_refused_without_quoting_it(
    starttls_relay: tuple[_Relay, int], cert: tuple[Path, Path]
) -> None:
    relay, port = starttls_relay
    provider = SmtpEmailProvider(
        "127.0.0.1",
        port,
        sender="noreply@oblako.test",
        security="starttls",
        username=USER,
        password="wrong-" + PASSWORD,
        tls_context=_trusting(cert),
    )
    with pytest.raises(ProviderRefusedError) as exc:
        provider.send("email", "buyer@example.ru", Outgoing(text="Чек"), "1:1:email")
    assert "535" in str(exc.value) and PASSWORD not in str(exc.value)
    assert relay.letters == []


def test_a_relay_demanding_starttls_refuses_plain_text(
    starttls_relay: tuple[_Relay, int], cert: tuple[Path, Path]
) -> None:
    relay, port = starttls_relay
    plain = SmtpEmailProvider("127.0.0.1", port, sender="noreply@oblako.test")
    with pytest.raises(ProviderRefusedError, match="530"):
        plain.send("email", "buyer@example.ru", Outgoing(text="Чек"), "1:1:email")
    # a password is never sent in the clear over a network: refused before connecting…
    clear = SmtpEmailProvider(
        "relay.invalid", port, sender="noreply@oblako.test", username=USER, password=PASSWORD
    )
    with pytest.raises(ProviderRefusedError, match="без TLS"):
        clear.send("email", "buyer@example.ru", Outgoing(text="Чек"), "1:1:email")
    # …only to a relay on this host (this one offers no AUTH before STARTTLS)
    local = SmtpEmailProvider(
        "127.0.0.1", port, sender="noreply@oblako.test", username=USER, password=PASSWORD
    )
    with pytest.raises(ProviderRefusedError, match="AUTH extension not supported") as exc:
        local.send("email", "buyer@example.ru", Outgoing(text="Чек"), "1:1:email")
    assert PASSWORD not in str(exc.value)
    # the self-signed certificate is not trusted by default: no silent downgrade
    untrusted = SmtpEmailProvider(
        "127.0.0.1", port, sender="noreply@oblako.test", security="starttls"
    )
    with pytest.raises(ProviderRefusedError, match="SSLCertVerificationError"):
        untrusted.send("email", "buyer@example.ru", Outgoing(text="Чек"), "1:1:email")
    assert relay.letters == []


def test_smtps_url_with_credentials(cert: tuple[Path, Path]) -> None:
    relay, port = _Relay(), _free_port()
    controller = Controller(
        relay,
        hostname="127.0.0.1",
        port=port,
        ssl_context=_server_context(cert),
        authenticator=relay,
        auth_required=True,
        auth_require_tls=False,  # aiosmtpd counts only STARTTLS as TLS; this one is TLS throughout
    )
    controller.start()
    try:
        provider = SmtpEmailProvider.from_url(
            f"smtps://{USER}:{PASSWORD.replace('-', '%2D')}@127.0.0.1:{port}",
            "noreply@oblako.test",
            tls_context=_trusting(cert),
        )
        assert (provider.security, provider.password) == ("tls", PASSWORD)
        provider.send("email", "buyer@example.ru", Outgoing(text="Чек"), "1:1:email")
        provider.close()
    finally:
        controller.stop()
    assert [tls for _, tls in relay.letters] == [True]
    assert relay.mechanisms in (["PLAIN"], ["LOGIN"])


def test_url_forms() -> None:
    starttls = SmtpEmailProvider.from_url("smtp://u:p@relay.example:587?starttls=1", "a@b.ru")
    assert (starttls.host, starttls.port, starttls.security) == ("relay.example", 587, "starttls")
    plain = SmtpEmailProvider.from_url("smtp://relay.example", "a@b.ru")
    assert (plain.port, plain.security, plain.username) == (25, "none", None)
    assert SmtpEmailProvider.from_url("smtps://relay.example", "a@b.ru").port == 465
    with pytest.raises(ProviderRefusedError, match="smtp://"):
        SmtpEmailProvider.from_url("http://relay.example", "a@b.ru")
