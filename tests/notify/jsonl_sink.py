"""A notification sink added the way a user adds one: this module and its one
registration line (``@register``). It appends each event change to a file as one line of
JSON, the same bytes MQTT and webhooks send. Used by test_custom_sink.py only."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

from camhub.events.model import EventUpdate
from camhub.notify import Sink, register


class JsonLinesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: Path


@register
class JsonLinesSink(Sink):
    type_name = "jsonl"
    kinds = (EventUpdate,)

    def __init__(self, settings: JsonLinesSettings) -> None:
        super().__init__(f"jsonl-{settings.path.name}")
        self.path = settings.path

    @classmethod
    def from_settings(cls, settings: BaseModel) -> Sink:
        return cls(JsonLinesSettings.model_validate(settings.model_dump()))

    @property
    def target(self) -> str:
        return str(self.path)

    def add(self, message: object) -> None:
        assert isinstance(message, EventUpdate)
        with self.path.open("ab") as out:
            out.write(message.json + b"\n")
        self._sent()
