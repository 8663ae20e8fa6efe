"""Command-line options laid over a config document (:class:`Overlay`): each value
remembers the option that gave it, so that validation reports a bad one against the option
instead of a file line. Pure data handling: it knows nothing of the config's sections."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from camhub.section import ConfigError

Key = str | int
KeyPath = tuple[Key, ...]


@dataclass
class Overlay:
    """Command-line values laid over a config document. Each remembers the option that
    gave it, so that a bad value is reported against the option, not a file line.

    ``set(("hub", "offline_after"), 0.0, "--offline-after")`` replaces a key (creating
    the tables above it, unless ``if_present``); ``append(("webhooks",), {"url": ...},
    "--webhook")`` adds an item to a list; ``requires(("mqtt",), message)`` refuses the
    overlay unless the file or an earlier option made that table."""

    _steps: list[tuple[str, KeyPath, Any, str, Mapping[str, str]]] = field(default_factory=list)

    def set(self, path: KeyPath, value: Any, option: str, *, if_present: bool = False) -> Overlay:
        """``if_present``: only where the file (or an earlier option) has the table."""
        self._steps.append(("update" if if_present else "set", path, value, option, {}))
        return self

    def append(
        self, path: KeyPath, value: Any, option: str, keys: Mapping[str, str] | None = None
    ) -> Overlay:
        """``keys`` names the option behind each key of an appended table."""
        self._steps.append(("append", path, value, option, keys or {}))
        return self

    def remove(self, path: KeyPath, option: str) -> Overlay:
        self._steps.append(("remove", path, None, option, {}))
        return self

    def requires(self, path: KeyPath, message: str) -> Overlay:
        self._steps.append(("requires", path, None, message, {}))
        return self

    def __bool__(self) -> bool:
        return bool(self._steps)

    def apply(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[KeyPath, str]]:
        """The merged document, and the option behind each key path it set."""
        out = copy.deepcopy(data)
        origins: dict[KeyPath, str] = {}
        for kind, path, value, option, keys in self._steps:
            if kind == "requires":
                if _get(out, path) is None:
                    raise ConfigError(option)
                continue
            if kind == "update":
                if not isinstance(_get(out, path[:-1]), dict):
                    continue
                kind = "set"
            parent = _container(out, path[:-1], option, origins)
            if not isinstance(parent, dict):
                continue  # the file has something else here: its own error says so
            last = path[-1]
            if kind == "remove":
                parent.pop(last, None)
            elif kind == "set":
                parent[last] = value
                origins[path] = option
            else:
                items = parent.setdefault(last, [])
                if not isinstance(items, list):
                    continue
                if (*path,) not in origins and len(items) == 0:
                    origins.setdefault(path, option)
                items.append(value)
                at = (*path, len(items) - 1)
                origins[at] = option
                for key, key_option in keys.items():
                    origins[(*at, key)] = key_option
        return out, origins


def _get(data: Any, path: KeyPath) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _container(
    data: dict[str, Any], path: KeyPath, option: str, origins: dict[KeyPath, str]
) -> Any:
    node: Any = data
    for depth, key in enumerate(path):
        if not isinstance(node, dict):
            return None
        if key not in node:
            node[key] = {}
            origins.setdefault(path[: depth + 1], option)
        node = node[key]
    return node
