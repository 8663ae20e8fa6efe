"""QR codes of the join link: text for the terminal, SVG for the dashboard."""

from __future__ import annotations

import io

import segno


def terminal(text: str) -> str:
    """The QR code as block characters (two rows per line), dark modules on light."""
    qr = segno.make(text, error="m")
    out = io.StringIO()
    qr.terminal(out=out, compact=True, border=2)
    return out.getvalue()


def svg(text: str, scale: int = 6) -> bytes:
    """The QR code as a standalone SVG document."""
    qr = segno.make(text, error="m")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=scale, border=2, xmldecl=True)
    return out.getvalue()
