"""Line numbers found from the document itself, for every TOML and YAML shape."""

from __future__ import annotations

import tomllib

import yaml

from camhub.positions import toml_positions, yaml_positions

TOML = """\
# a comment
title = "fleet"   # trailing comment

[hub]
bind = ["tcp://*:5555",
        "tcp://*:5556"]   # a list over two lines
"quoted key" = 1
record.mode = "events"          # a dotted key

[[cameras]]
name = "door"
note = \"\"\"two
lines\"\"\"

[[cameras]]
name = "desk"
zones = [
  { name = "a", points = [[1, 2], [3, 4], [5, 6]] },
  # between items
  { name = "b", points = [
    [7, 8], [9, 10], [11, 12]] },
]

[[cameras.extra]]
x = 'C:\\dir'  # a literal string: no escapes

[detect.cameras.door]
detect_fps = 8
motto = "say \\"hi\\" [x] # not a comment"
after = '''a
[b]'''
last = 1
"""


def test_toml_tables_keys_arrays_and_inline_tables() -> None:
    tomllib.loads(TOML)  # valid TOML, as the locator expects
    pos = toml_positions(TOML)
    assert pos.line(("title",)) == 2
    assert pos.line(("hub",)) == 4
    assert pos.line(("hub", "bind")) == 5
    assert pos.line(("hub", "bind", 1)) == 6
    assert pos.line(("hub", "quoted key")) == 7
    assert pos.line(("hub", "record", "mode")) == 8
    assert pos.line(("cameras", 0)) == 10
    assert pos.line(("cameras", 0, "name")) == 11
    assert pos.line(("cameras", 1, "name")) == 16  # after a multi-line string
    assert pos.line(("cameras", 1, "zones", 0, "points", 2)) == 18
    assert pos.line(("cameras", 1, "zones", 1)) == 20
    assert pos.line(("cameras", 1, "zones", 1, "points")) == 20
    assert pos.line(("cameras", 1, "zones", 1, "points", 2)) == 21
    assert pos.line(("cameras", 1, "extra", 0, "x")) == 25  # nested array of tables
    assert pos.line(("detect", "cameras", "door", "detect_fps")) == 28
    assert pos.line(("detect", "cameras", "door", "after")) == 30
    assert pos.line(("detect", "cameras", "door", "last")) == 32


def test_a_missing_key_points_at_its_table() -> None:
    pos = toml_positions(TOML)
    assert pos.line(("cameras", 1, "source")) == 15
    assert pos.line(("hub", "record", "keep_days")) == 8
    assert pos.line(("nowhere",)) is None


YAML = """\
hub:
  bind:
    - tcp://*:5555
cameras:
  - name: door
    source: "0"
  - name: desk
"""


def test_yaml_marks() -> None:
    pos = yaml_positions(yaml.compose(YAML, Loader=yaml.SafeLoader))
    assert pos.line(("hub", "bind", 0)) == 3
    assert pos.line(("cameras", 0, "source")) == 6
    assert pos.line(("cameras", 1)) == 7
    assert pos.line(("cameras", 1, "source")) == 7
    assert yaml_positions(None).line(("hub",)) is None
