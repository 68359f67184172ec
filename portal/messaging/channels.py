"""Which adapter carries each channel, decided from the configuration in this one place.

Email goes over SMTP when SMTP_URL is set; texts through the provider SMS_PROVIDER names
(`messaging/sms`); letters to the print vendor's folder when PRINT_VENDOR_DIR is set. A channel
with no adapter is captured at /dev/messages in demo mode and refused outside it (`service.send`).
"""

from __future__ import annotations

import threading

from flask import Flask

from portal.messaging import letters, sms
from portal.messaging.envelope import Adapter
from portal.messaging.smtp import SmtpAdapter, parse_url

EXTENSION = "portal.messaging.adapters"
_lock = threading.Lock()


def _email(config) -> Adapter | None:
    url = config.get("SMTP_URL")
    return SmtpAdapter(parse_url(url)) if url else None


#: channel -> adapter_from_config(config): the adapter, or None when none is configured.
FACTORIES = {"email": _email, "sms": sms.adapter_from_config, "letter": letters.adapter_from_config}


def adapter_for(channel: str, app: Flask) -> Adapter | None:
    """The adapter of `channel` for this app (made once, then shared), or None."""
    adapters = app.extensions.get(EXTENSION)
    if adapters is None:
        with _lock:
            adapters = app.extensions.get(EXTENSION)
            if adapters is None:
                adapters = {name: make(app.config) for name, make in FACTORIES.items()}
                app.extensions[EXTENSION] = adapters
    return adapters.get(channel)
