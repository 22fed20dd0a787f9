"""The channels' providers from the settings: e-mail's relay, SMS and messengers' gateway.

Each phone channel names its provider (``delivery_<channel>_provider``): ``smsc`` — the SMSC.ru
HTTP gateway (`smsc.py`), one account for every channel that names it; ``loopback`` — accept
everything (development); empty — the loopback when ``delivery_loopback``, else the channel is
off. A new provider is one adapter class with ``send``/``report`` (`cascade.Provider`) and one
name here.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from fleet.core.config import Settings
from fleet.delivery.cascade import Provider
from fleet.delivery.channels import Channel
from fleet.delivery.email import SmtpEmailProvider
from fleet.delivery.providers.errors import ProviderConfigError
from fleet.delivery.providers.reports import StoredReports
from fleet.delivery.providers.smsc import SmscProvider

__all__ = ["email_provider", "phone_providers", "smsc_provider"]


def email_provider(settings: Settings) -> SmtpEmailProvider | None:
    """The relay of the e-mail channel (``delivery_smtp_url``, else ``smtp_host``), or None."""
    bounces = {
        "bounce_domain": settings.delivery_bounce_domain,
        "bounce_secret": settings.secret_key,
    }
    if settings.delivery_smtp_url is not None:
        return SmtpEmailProvider.from_url(
            settings.delivery_smtp_url.get_secret_value(), settings.mail_from, **bounces
        )
    if not settings.smtp_host:
        return None
    return SmtpEmailProvider(
        settings.smtp_host,
        settings.smtp_port,
        sender=settings.mail_from,
        security="starttls" if settings.smtp_starttls else "none",
        username=settings.smtp_username,
        password=settings.smtp_password,
        bounce_domain=settings.delivery_bounce_domain,
        bounce_secret=settings.secret_key,
    )


def smsc_provider(settings: Settings, engine: Engine | None) -> SmscProvider:
    """The SMSC account of the settings; its delivery reports read through ``engine``."""
    if settings.delivery_smsc_secret is None:
        raise ProviderConfigError(
            "Для SMSC нужен пароль или ключ API (FLEET_DELIVERY_SMSC_SECRET)",
            fields={"delivery_smsc_secret": "не задан"},
        )
    return SmscProvider(
        settings.delivery_smsc_url,
        settings.delivery_smsc_login or None,
        settings.delivery_smsc_secret.get_secret_value(),
        sender=settings.delivery_smsc_sender or None,
        reports=StoredReports(engine) if engine is not None else None,
        poll_status=settings.delivery_smsc_poll,
        timeout_s=settings.delivery_smsc_timeout_s,
    )


def phone_providers(
    settings: Settings, engine: Engine | None, loopback: Provider
) -> dict[Channel, Provider]:
    """The providers of the phone channels the settings give one (others: none, so off)."""
    named = {
        Channel.SMS: settings.delivery_sms_provider,
        Channel.VK: settings.delivery_vk_provider,
        Channel.OK: settings.delivery_ok_provider,
        Channel.VIBER: settings.delivery_viber_provider,
    }
    smsc: SmscProvider | None = None
    out: dict[Channel, Provider] = {}
    for channel, name in named.items():
        name = name or ("loopback" if settings.delivery_loopback else "")
        if name == "loopback":
            out[channel] = loopback
        elif name == "smsc":
            smsc = smsc or smsc_provider(settings, engine)
            out[channel] = smsc
    return out
