"""The one base class of every configuration section, and the tagged unions that let a
plugin (a notification sink, a detector backend) bring its own section.

A section forbids unknown keys and is immutable; each field declares its description and
bounds once, here in the model, and every reader (fleet file, command line, Python) is
checked against them. Validation is pure: it never opens a file or a socket.

A field marked :func:`secret` (a password, a token, a URL that may carry credentials) is
never echoed back in an error message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic.fields import FieldInfo
from pydantic_core import CoreSchema

from camhub.types import CamhubError


class ConfigError(CamhubError):
    """A config file or option is unreadable or invalid; the text lists every problem."""


class Section(BaseModel):
    """A block of a config file: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def secret(**kwargs: Any) -> Any:
    """A field whose value must not show up in errors, logs or ``repr`` (passwords,
    tokens, URLs that carry credentials)."""
    return Field(repr=False, json_schema_extra={"secret": True}, **kwargs)


def is_secret(field: FieldInfo) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and extra.get("secret") is True


_UNIONS: list[type[PluginUnion]] = []
_USERS: list[type[BaseModel]] = []
"""Models whose schema holds a plugin union, innermost first (see :func:`uses_plugins`)."""


class PluginUnion:
    """Base of a type whose values are one of the sections a registry knows, chosen by
    their ``type`` key (a tagged union). The members are looked up when a model that
    uses the type builds its schema; :func:`refresh` rebuilds those models after a plugin
    registered itself later (a test's sink, a third-party detector)."""

    _built: ClassVar[tuple[type[Section], ...]] = ()

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        _UNIONS.append(cls)

    @classmethod
    def members(cls) -> Sequence[type[Section]]:
        """The sections to choose from, each with a ``type: Literal[...]`` field."""
        raise NotImplementedError

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        members = tuple(cls.members())
        cls._built = members
        if not members:  # nothing registered: any value is refused, with a clear message
            return handler.generate_schema(Annotated[_NoPlugin, Field()])
        choice: Any = members[0] if len(members) == 1 else Union[members]  # noqa: UP007
        return handler.generate_schema(Annotated[choice, Field(discriminator="type")])

    @classmethod
    def stale(cls) -> bool:
        return tuple(cls.members()) != cls._built

    @classmethod
    def member(cls, tag: object) -> type[Section] | None:
        """The section for a ``type`` value, or ``None``."""
        for section in cls.members():
            field = section.model_fields.get("type")
            if field is not None and field.default == tag:
                return section
        return None


class _NoPlugin(Section):
    type: None = None


M = TypeVar("M", bound=type[BaseModel])


def uses_plugins(model: M) -> M:
    """Class decorator: ``model`` holds a plugin union, directly or in a nested section
    (decorate inner models first)."""
    _USERS.append(model)
    return model


def refresh() -> None:
    """Rebuild the models that hold plugin unions if a registry has changed since their
    schemas were built (cheap when nothing changed)."""
    if any(union.stale() for union in _UNIONS):
        for model in _USERS:
            model.model_rebuild(force=True)
