"""Text messages: the provider adapter the configuration names (SMS_PROVIDER=twilio|gateway)."""

from __future__ import annotations

from collections.abc import Mapping

from portal.messaging.envelope import Adapter
from portal.messaging.sms import gateway_adapter, twilio_adapter


def _callback(config: Mapping, path: str) -> str | None:
    base = config.get("PUBLIC_BASE_URL")
    return base.rstrip("/") + path if base else None


def default_sender(config: Mapping) -> str | None:
    """The deployment's sender when the agency has none of its own (agency.sms_sender)."""
    if config.get("SMS_PROVIDER") == "gateway":
        return config.get("SMS_GATEWAY_FROM")
    return config.get("TWILIO_FROM") or config.get("TWILIO_MESSAGING_SERVICE_SID")


def sender_for(agency, config: Mapping) -> str | None:
    """The agency's identity on texts: its own sender, else the configured one."""
    return getattr(agency, "sms_sender", None) or default_sender(config)


def adapter_from_config(config: Mapping) -> Adapter | None:
    """The configured SMS adapter, or None when no provider is set up."""
    provider = config.get("SMS_PROVIDER")
    timeout = float(config.get("SMS_TIMEOUT") or 10)
    if provider == "twilio":
        if not (config.get("TWILIO_ACCOUNT_SID") and config.get("TWILIO_AUTH_TOKEN")):
            raise RuntimeError("SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID and "
                               "TWILIO_AUTH_TOKEN")
        return twilio_adapter.TwilioAdapter(
            config["TWILIO_ACCOUNT_SID"], config["TWILIO_AUTH_TOKEN"],
            sender=default_sender(config),
            status_callback=_callback(config, twilio_adapter.STATUS_PATH),
            api_base=config.get("TWILIO_API_BASE"), timeout=timeout)
    if provider == "gateway":
        if not (config.get("SMS_GATEWAY_URL") and config.get("SMS_GATEWAY_SECRET")):
            raise RuntimeError("SMS_PROVIDER=gateway needs SMS_GATEWAY_URL and "
                               "SMS_GATEWAY_SECRET")
        return gateway_adapter.GatewayAdapter(
            config["SMS_GATEWAY_URL"], config["SMS_GATEWAY_SECRET"],
            sender=default_sender(config),
            status_callback=_callback(config, gateway_adapter.STATUS_PATH), timeout=timeout)
    if provider:
        raise RuntimeError(f"SMS_PROVIDER must be twilio or gateway, not {provider!r}")
    return None
