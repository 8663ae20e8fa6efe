"""Phones (any browser) as cameras: pairing and device tokens, admission limits, and
the WebSocket frame format. The web side lives in :mod:`camhub.web.phone`; the page in
``camhub/web/static/cam.html``. See docs/phone.md."""

from camhub.phones.devices import (
    Device,
    DeviceError,
    DeviceFileError,
    DeviceRegistry,
    default_dir,
)
from camhub.phones.gate import ClientStats, PhoneGate, PhoneLimits

__all__ = [
    "ClientStats",
    "Device",
    "DeviceError",
    "DeviceFileError",
    "DeviceRegistry",
    "PhoneGate",
    "PhoneLimits",
    "default_dir",
]
