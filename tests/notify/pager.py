"""A notification sink that exists only in the tests: one module, and one registration
line (``register(PagerSink)``) where a test wants it. It keeps what it would page."""

from __future__ import annotations

import threading
from typing import Literal

from pydantic import BaseModel, Field

from camhub.events.model import EventUpdate
from camhub.notify import Sink
from camhub.notify.settings import SinkSection
from camhub.section import secret
from camhub.types import HubEvent


class PagerSettings(SinkSection):
    """``[[notify]]`` with ``type = "pager"``."""

    type: Literal["pager"] = "pager"
    number: str = Field(pattern=r"^\+[0-9]{6,15}$", description="Number to page (+CC...).")
    pin: str | None = secret(default=None, min_length=4, max_length=8, description="Its PIN.")
    quiet: bool = Field(default=False, description="Only camera states, no events.")


class PagerSink(Sink):
    type_name = "pager"
    config = PagerSettings

    def __init__(self, settings: PagerSettings) -> None:
        super().__init__(f"pager-{settings.number[-4:]}")
        self.settings = settings
        self.paged: list[str] = []
        self.got = threading.Event()

    @classmethod
    def from_settings(cls, settings: BaseModel) -> Sink:
        assert isinstance(settings, PagerSettings)
        return cls(settings)

    def add(self, message: object) -> None:
        if isinstance(message, HubEvent):
            self.paged.append(f"{message.camera} {message.kind}")
        elif isinstance(message, EventUpdate) and not self.settings.quiet:
            self.paged.append(f"{message.after.camera} {message.after.label} {message.type}")
        self._sent()
        self.got.set()
