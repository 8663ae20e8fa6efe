"""Coverage-guided fuzzing of the wire decoder with atheris (optional: pip install atheris).

Run: python tests/atheris_decoder.py -runs=100000 (or without -runs to fuzz until stopped).
Any exception other than ProtocolError is a crash that atheris reports with its input.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import atheris
import numpy as np

with atheris.instrument_imports():
    from camhub import protocol
    from camhub.jpeg import encode_jpeg

TINY = encode_jpeg(np.full((16, 16, 3), 99, np.uint8))
KEYS = ("seq", "ts", "width", "height", "dtype", "shape", "enc")


def _value(fdp: atheris.FuzzedDataProvider) -> Any:
    pick = fdp.ConsumeIntInRange(0, 4)
    if pick == 0:
        return fdp.ConsumeIntInRange(-(2**40), 2**40)
    if pick == 1:
        return fdp.ConsumeRegularFloat()
    if pick == 2:
        return fdp.ConsumeUnicode(8)
    if pick == 3:
        return [fdp.ConsumeIntInRange(-3, 70000) for _ in range(fdp.ConsumeIntInRange(0, 5))]
    return None


def _structured(fdp: atheris.FuzzedDataProvider) -> list[bytes]:
    """A mostly well-formed message, so fuzzing reaches past the JSON parser."""
    header: dict[str, Any] = {"msg": fdp.ConsumeUnicode(12)}
    for key in KEYS:
        if fdp.ConsumeBool():
            header[key] = _value(fdp)
    payload = bytearray(TINY)
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        payload[fdp.ConsumeIntInRange(0, len(payload) - 1)] = fdp.ConsumeIntInRange(0, 255)
    cut = fdp.ConsumeIntInRange(0, len(payload))
    return [json.dumps(header).encode(), bytes(payload[:cut] if fdp.ConsumeBool() else payload)]


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    if fdp.ConsumeBool():
        parts = _structured(fdp)
    else:
        count = fdp.ConsumeIntInRange(0, 4)
        parts = [fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 2048)) for _ in range(count)]
    try:
        protocol.decode(parts)
    except protocol.ProtocolError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
