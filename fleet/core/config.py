"""Fleet settings (pydantic-settings): built inside `create_app`, never at import time.

Precedence: explicit arguments, then environment (``DATABASE_URL``, ``FLEET_*``), then defaults.
The default secret is refused outside development and tests.
"""

from __future__ import annotations

from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_ACQUIRING_SECRET", "DEFAULT_SECRET", "Settings"]

DEFAULT_SECRET = "changethis"
DEFAULT_ACQUIRING_SECRET = "acquiring-dev-secret"


class Settings(BaseSettings):
    """Everything the fleet reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="FLEET_", extra="ignore")

    environment: Literal["dev", "test", "prod"] = "dev"
    database_url: str = Field(
        default="sqlite:///var/oblako.db",
        validation_alias=AliasChoices("DATABASE_URL", "FLEET_DATABASE_URL", "database_url"),
    )
    secret_key: str = DEFAULT_SECRET
    base_url: str = "http://127.0.0.1:8000"
    #: Apply Alembic migrations when the app starts (the embedded default).
    migrate_on_start: bool = True
    #: Run the scheduled-job loop inside the app (each worker may; the DB lock keeps it once).
    run_jobs: bool = True
    job_poll_s: float = 10.0
    #: The fleet's broker (`mqtt://fleet-ingest:PASSWORD@host:port`): with it the app also runs
    #: the receipts worker (routing, commands, statuses, callbacks; fleet/receipts/runner.py).
    mqtt_url: str | None = None
    mqtt_root: str = "oblako"
    run_receipts: bool = True
    receipts_poll_s: float = 0.05
    job_lease_s: float = 300.0
    session_ttl_s: float = 14 * 24 * 3600.0
    confirm_ttl_s: float = 3 * 24 * 3600.0
    #: Brute-force throttling: this many failures per account+IP within the window lock it out.
    signin_max_failures: int = 5
    signin_window_s: float = 15 * 60.0
    signin_lockout_s: float = 15 * 60.0
    #: argon2id cost; tests lower it, production keeps the argon2-cffi defaults.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    #: Mail: with no SMTP host, mail goes to an in-memory sink and the log (development).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    mail_from: str = "Облако <noreply@oblako.local>"
    cookie_secure: bool = False
    #: Billing: the card acquirer (`oblako sim acquiring` in development) and its HMAC secret.
    acquiring_url: str = "http://127.0.0.1:8100"
    acquiring_secret: str = DEFAULT_ACQUIRING_SECRET
    #: Registration: the accredited CAs' root certificates (paths, comma-separated; DER or PEM)
    #: that a КЭП must chain to, and the tax service's gateway (`oblako sim fns` in development).
    kep_trusted_roots: str = ""
    #: their lists of revoked certificates (CRL files or http(s) URLs, comma-separated; DER or PEM)
    kep_crls: str = ""
    #: the CRLs the certificates name (cRLDistributionPoints) are fetched again after this many
    #: seconds; older than the staleness limit, a signature is refused (status unknown)
    kep_crl_refresh_s: float = Field(default=3600.0, gt=0)
    kep_crl_stale_s: float = Field(default=86_400.0, gt=0)
    #: revocation policy (fleet/registration/ocsp.py): OCSP first, the CRL as fallback; the
    #: OCSP responder for every certificate instead of the one its AIA names; the request
    #: timeout; the age limit of an answer without nextUpdate; whether answers must echo the
    #: nonce; whether a certificate with no responder and no CRL at all is refused
    kep_revocation: Literal["ocsp_then_crl", "ocsp", "crl"] = "ocsp_then_crl"
    kep_ocsp_url: str = ""
    kep_ocsp_timeout_s: float = Field(default=5.0, gt=0)
    kep_ocsp_max_age_s: float = Field(default=3600.0, gt=0)
    kep_ocsp_require_nonce: bool = True
    kep_require_revocation: bool = True
    fns_url: str = "http://127.0.0.1:8200"
    #: EDO: the operator's gateway (`oblako sim edo` in development), Oblako's participant id.
    edo_url: str = "http://127.0.0.1:8300"
    edo_participant_id: str = "2AE-OBLAKO-0001"
    #: Drives: days before min(expiry, memory full) by which a drive must be replaced (delivery
    #: of a new drive and the re-registration).
    drive_lead_days: int = Field(default=30, ge=0, le=365)
    #: Billing: Oblako's own bank requisites printed on invoices.
    bank_recipient: str = "ООО «Облако»"
    bank_inn: str = "7701999993"
    bank_kpp: str = "770701001"
    bank_name: str = "АО «Тестовый банк», г. Москва"
    bank_bik: str = "044525999"
    bank_account: str = "40702810900000000001"
    bank_corr_account: str = "30101810400000000999"
    #: E-receipts to buyers (fleet/delivery): the channels switched on (Viber is blocked in
    #: Russia since Dec 2024: add "viber" to enable it), the worker thread and its poll, and
    #: an in-process loopback for SMS and messengers (development; see delivery_*_provider).
    delivery_channels: str = "email,sms,vk,ok"
    run_delivery: bool = True
    delivery_poll_s: float = 0.5
    delivery_loopback: bool = False
    #: Bounces (fleet/delivery/bounces.py): each letter's envelope sender is a VERP address in
    #: this domain (its MX must reach the endpoint), and the endpoint's "host:port" the fleet
    #: listens on for the DSNs; unset: no bounce reading (e-mail counts after its window).
    delivery_bounce_domain: str | None = None
    delivery_bounce_listen: str | None = None
    #: The e-receipt channel's relay as a URL, overriding smtp_host/port/starttls/username/
    #: password for it: smtp://user:password@host:587?starttls=1 or smtps://user:password@host.
    delivery_smtp_url: SecretStr | None = None
    #: SMS and messengers (fleet/delivery/providers): each phone channel's provider — "smsc"
    #: (an SMSC.ru gateway), "loopback" (accepts everything: development) or "" (the loopback
    #: when delivery_loopback, else the channel is off).
    delivery_sms_provider: Literal["", "loopback", "smsc"] = ""
    delivery_vk_provider: Literal["", "loopback", "smsc"] = ""
    delivery_ok_provider: Literal["", "loopback", "smsc"] = ""
    delivery_viber_provider: Literal["", "loopback", "smsc"] = ""
    #: the SMSC account: API address, login and password (or the API key alone with no login),
    #: sender name; status.php polling while no delivery report came; and the last part of the
    #: delivery-report URL set in the account (/api/delivery/dlr/smsc/<token>; unset: no URL).
    delivery_smsc_url: str = "https://smsc.ru"
    delivery_smsc_login: str | None = None
    delivery_smsc_secret: SecretStr | None = None
    delivery_smsc_sender: str | None = None
    delivery_smsc_timeout_s: float = Field(default=5.0, gt=0)
    delivery_smsc_poll: bool = True
    delivery_smsc_dlr_token: SecretStr | None = None
    #: Advertising receipts: the price of one framed receipt (kopecks; tariffs carry none).
    ad_receipt_price_kop: int = Field(default=30, ge=0)

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Self:
        if self.environment == "prod":
            if self.secret_key == DEFAULT_SECRET or len(self.secret_key) < 32:
                raise ValueError(
                    "FLEET_SECRET_KEY must be set to a random value of 32+ characters in prod"
                )
            if not self.cookie_secure:
                raise ValueError("FLEET_COOKIE_SECURE must be true in prod")
            if self.acquiring_secret == DEFAULT_ACQUIRING_SECRET or len(self.acquiring_secret) < 32:
                raise ValueError(
                    "FLEET_ACQUIRING_SECRET must be set to a random value of 32+ characters in prod"
                )
        return self
