"""Where each key and list item of a TOML or YAML document is: its line, found by walking
the document itself (no list of known keys), so that an error can name ``file:line``.

TOML: :mod:`tomllib` parses and checks the text; a small pass over the same text then
follows its tables (``[a.b]``), arrays of tables (``[[cameras]]``), dotted keys, arrays and
inline tables and notes the line where each key path starts. YAML: the node tree that
PyYAML composes carries a mark on every key and item.
"""

from __future__ import annotations

from collections.abc import Sequence

import yaml

Key = str | int
Path = tuple[Key, ...]


class Positions:
    """Line numbers (1-based) by key path, e.g. ``("cameras", 1, "fps") -> 12``."""

    def __init__(self, lines: dict[Path, int] | None = None) -> None:
        self.lines: dict[Path, int] = lines or {}

    def line(self, path: Sequence[Key]) -> int | None:
        """The line of ``path``, or of the nearest enclosing key that the document has
        (a missing key is reported at its table)."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None


# -- TOML ----------------------------------------------------------------------------------

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_VALUE_END = frozenset(",]}#\r\n")


class _Toml:
    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.lineno = 1
        self.lines: dict[Path, int] = {}
        self.arrays: dict[Path, int] = {}
        """Arrays of tables: how many ``[[...]]`` blocks each has had so far."""

    # characters
    def peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def advance(self, n: int = 1) -> None:
        self.lineno += self.text.count("\n", self.i, self.i + n)
        self.i += n

    def blanks(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def blanks_comments_newlines(self) -> None:
        while self.i < len(self.text):
            c = self.peek()
            if c in (" ", "\t", "\r", "\n"):
                self.advance()
            elif c == "#":
                self.to_line_end()
            else:
                return

    def to_line_end(self) -> None:
        end = self.text.find("\n", self.i)
        self.i = len(self.text) if end < 0 else end

    def note(self, path: Path, line: int) -> None:
        self.lines.setdefault(path, line)

    # keys
    def simple_key(self) -> str:
        c = self.peek()
        if c in ('"', "'"):
            return self.string()
        start = self.i
        while self.peek() in _BARE and self.i < len(self.text):
            self.i += 1
        if self.i == start:
            raise ValueError(f"expected a key at offset {self.i}")
        return self.text[start : self.i]

    def key(self) -> list[str]:
        parts = [self.simple_key()]
        self.blanks()
        while self.peek() == ".":
            self.i += 1
            self.blanks()
            parts.append(self.simple_key())
            self.blanks()
        return parts

    def resolve(self, keys: Sequence[str]) -> Path:
        """A header's key path, with the current index of each array of tables on it."""
        out: list[Key] = []
        for key in keys:
            out.append(key)
            count = self.arrays.get(tuple(out))
            if count:
                out.append(count - 1)
        return tuple(out)

    # values
    def string(self) -> str:
        quote = self.peek()
        if self.peek(3) == quote * 3:
            end = self.text.find(quote * 3, self.i + 3)
            end = len(self.text) if end < 0 else end
            while self.text[end + 3 : end + 4] == quote:  # up to two quotes may close it
                end += 1
            value = self.text[self.i + 3 : end]
            self.advance(end + 3 - self.i)
            return value
        j = self.i + 1
        while j < len(self.text) and self.text[j] != quote:
            j += 2 if quote == '"' and self.text[j] == "\\" else 1
        value = self.text[self.i + 1 : j]
        self.i = j + 1
        return value

    def value(self, path: Path) -> None:
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.array(path)
        elif c == "{":
            self.inline_table(path)
        else:
            while self.i < len(self.text) and self.peek() not in _VALUE_END:
                self.i += 1

    def array(self, path: Path) -> None:
        self.advance()  # [
        index = 0
        while True:
            self.blanks_comments_newlines()
            if self.peek() in ("]", ""):
                self.advance()
                return
            self.note((*path, index), self.lineno)
            self.value((*path, index))
            index += 1
            self.blanks_comments_newlines()
            if self.peek() == ",":
                self.advance()

    def inline_table(self, path: Path) -> None:
        self.advance()  # {
        while True:
            self.blanks_comments_newlines()
            if self.peek() in ("}", ""):
                self.advance()
                return
            self.pair(path)
            self.blanks_comments_newlines()
            if self.peek() == ",":
                self.advance()

    def pair(self, table: Path) -> None:
        line = self.lineno
        keys = self.key()
        for end in range(1, len(keys) + 1):
            self.note((*table, *keys[:end]), line)
        self.blanks()
        if self.peek() != "=":
            raise ValueError(f"expected '=' on line {line}")
        self.i += 1
        self.blanks()
        self.value((*table, *keys))

    # the document
    def run(self) -> dict[Path, int]:
        table: Path = ()
        while True:
            self.blanks_comments_newlines()
            if self.i >= len(self.text):
                return self.lines
            line = self.lineno
            if self.peek(2) == "[[":
                self.i += 2
                self.blanks()
                keys = self.key()
                parent = self.resolve(keys[:-1])
                array = (*parent, keys[-1])
                self.arrays[array] = self.arrays.get(array, 0) + 1
                table = (*array, self.arrays[array] - 1)
                self.note(array, line)
                self.note(table, line)
            elif self.peek() == "[":
                self.i += 1
                self.blanks()
                table = self.resolve(self.key())
                for end in range(1, len(table) + 1):
                    self.note(table[:end], line)
            else:
                self.pair(table)
            self.to_line_end()


def toml_positions(text: str) -> Positions:
    """Positions in TOML text that :func:`tomllib.loads` accepted."""
    scanner = _Toml(text)
    try:
        return Positions(scanner.run())
    except (ValueError, IndexError):  # never expected for valid TOML: keep what was found
        return Positions(scanner.lines)


# -- YAML ----------------------------------------------------------------------------------


def yaml_positions(root: yaml.Node | None) -> Positions:
    """Positions from a composed YAML node tree."""
    lines: dict[Path, int] = {}

    def walk(node: yaml.Node, path: Path) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    child = (*path, str(key.value))
                    lines.setdefault(child, key.start_mark.line + 1)
                    walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                lines.setdefault((*path, index), item.start_mark.line + 1)
                walk(item, (*path, index))

    if root is not None:
        walk(root, ())
    return Positions(lines)
