"""Play MP4 in Debian's chromium (Playwright): as a file in a ``<video>`` element, or
appended to a Media Source Extensions buffer, until it ends; report what the browser
decoded."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from camhub.web.browser import CHROMIUM, CHROMIUM_ARGS

ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]

_PLAY = """([src, limit]) => new Promise(done => {
  const v = document.createElement('video');
  v.muted = true;
  const report = extra => done({...extra, time: v.currentTime, duration: v.duration,
    width: v.videoWidth, frames: v.getVideoPlaybackQuality().totalVideoFrames,
    error: v.error && `${v.error.code} ${v.error.message}`});
  v.onended = () => report({ended: true});
  v.onerror = () => report({ended: false});
  setTimeout(() => report({ended: false, timeout: true}), limit);
  document.body.appendChild(v);
  v.src = src;
  v.play().catch(e => report({ended: false, refused: String(e)}));
})"""

_MSE = """([mime, pieces, limit]) => new Promise(done => {
  const v = document.createElement('video');
  v.muted = true;
  const report = extra => done({...extra, time: v.currentTime,
    frames: v.getVideoPlaybackQuality().totalVideoFrames,
    buffered: v.buffered.length ? v.buffered.end(0) - v.buffered.start(0) : 0,
    error: v.error && `${v.error.code} ${v.error.message}`});
  if (!MediaSource.isTypeSupported(mime)) return report({ended: false, unsupported: mime});
  const ms = new MediaSource();
  v.src = URL.createObjectURL(ms);
  v.onended = () => report({ended: true});
  v.onerror = () => report({ended: false});
  setTimeout(() => report({ended: false, timeout: true}), limit);
  document.body.appendChild(v);
  ms.onsourceopen = () => {
    const sb = ms.addSourceBuffer(mime);
    const queue = pieces.map(p => Uint8Array.from(atob(p), c => c.charCodeAt(0)));
    sb.onerror = () => report({ended: false, append_error: true});
    const next = () => {
      if (queue.length) { sb.appendBuffer(queue.shift()); return; }
      ms.endOfStream();
      v.play().catch(e => report({ended: false, refused: String(e)}));
    };
    sb.onupdateend = next;
    next();
  };
})"""


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


def play_file(page: Any, path: Path, limit_ms: int = 20_000) -> dict[str, Any]:
    """Play ``path`` from start to end in a ``<video>`` element (of a page beside it:
    chromium lets only ``file:`` pages open ``file:`` media)."""
    blank = path.with_name("blank.html")
    blank.write_text("<!doctype html><body></body>")
    page.goto(blank.resolve().as_uri())
    result: dict[str, Any] = page.evaluate(_PLAY, [path.resolve().as_uri(), limit_ms])
    return result


def play_url(page: Any, url: str, limit_ms: int = 20_000) -> dict[str, Any]:
    """Open ``url``'s origin, then play ``url`` in a ``<video>`` element."""
    page.goto(url.split("/api/")[0] + "/api/recording")
    result: dict[str, Any] = page.evaluate(_PLAY, [url, limit_ms])
    return result


def play_mse(page: Any, mime: str, pieces: list[bytes], limit_ms: int = 20_000) -> dict[str, Any]:
    """Append ``pieces`` (an init segment, then fragments) one by one to an MSE
    SourceBuffer of type ``mime`` and play them to the end."""
    page.set_content("<body></body>")
    encoded = [base64.b64encode(p).decode() for p in pieces]
    result: dict[str, Any] = page.evaluate(_MSE, [mime, encoded, limit_ms])
    return result
