"""Build the sinks a hub runs from settings (config file and command line)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from camhub.notify.base import Sink, sink_class
from camhub.notify.settings import (
    MqttSettings,
    NotifySettingsError,
    WebhookSettings,
    parse_broker,
)


def build_sinks(mqtt: MqttSettings | None, webhooks: Sequence[WebhookSettings]) -> list[Sink]:
    sinks: list[Sink] = []
    if mqtt is not None:
        sinks.append(sink_class("mqtt").from_settings(mqtt))
    names: set[str] = set()
    for hook in webhooks:
        sink: Sink = sink_class("webhook").from_settings(hook)
        if sink.name in names:  # two hooks on one host: keep health rows apart
            sink.name = f"{sink.name}-{len(names) + 1}"
        names.add(sink.name)
        sinks.append(sink)
    return sinks


def _one_line(exc: ValidationError, what: str) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return f"{what}: " + "; ".join(parts)


def mqtt_from_options(
    base: MqttSettings | None,
    broker: str | None,
    *,
    prefix: str | None = None,
    discovery: bool = False,
) -> MqttSettings | None:
    """The config file's ``[mqtt]`` with the command line's ``--mqtt HOST[:PORT]``,
    ``--mqtt-prefix`` and ``--ha-discovery`` on top."""
    if base is None and broker is None:
        if prefix is not None or discovery:
            raise NotifySettingsError("--mqtt-prefix and --ha-discovery need --mqtt HOST[:PORT]")
        return None
    data: dict[str, Any] = {} if base is None else base.model_dump(exclude_unset=True)
    if broker is not None:
        data["host"], data["port"] = parse_broker(broker)
    if prefix is not None:
        data["prefix"] = prefix
    if discovery:
        data["discovery"] = True
    try:
        return MqttSettings.model_validate(data)
    except ValidationError as exc:
        raise NotifySettingsError(_one_line(exc, "bad MQTT option")) from None


def webhooks_from_options(
    base: Sequence[WebhookSettings], urls: Sequence[str], extra: Mapping[str, Any] | None = None
) -> list[WebhookSettings]:
    hooks = list(base)
    for url in urls:
        try:
            hooks.append(WebhookSettings.model_validate({"url": url, **(extra or {})}))
        except ValidationError as exc:
            raise NotifySettingsError(_one_line(exc, "bad --webhook")) from None
    return hooks
