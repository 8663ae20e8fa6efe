"""Webhook URLs carry their credential (Slack, Discord and Home Assistant put it in the
path; others in the query or user info): a real ``camhub hub`` process whose webhook
cannot deliver must show neither in its log, ``/api/notify`` nor ``/metrics``, only
``scheme://host:port/…`` and a fingerprint."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import httpx
import numpy as np
import pytest

import camhub
from camhub.notify.webhook import redact_url
from tests.cli_proc import Proc
from tests.servers.webhook_target import Target

pytestmark = pytest.mark.timeout(90)


def test_the_webhook_secret_never_reaches_the_log_or_the_api(tmp_path: Path) -> None:
    token = secrets.token_urlsafe(24)
    query = "key=" + secrets.token_hex(8)
    target = Target()
    target.statuses = [500] * 100  # every attempt fails, and is logged
    url = f"http://127.0.0.1:{target.port}/services/T0AAA1111/B0BBB2222/{token}?{query}"
    shown = redact_url(url)
    assert re.fullmatch(rf"http://127\.0\.0\.1:{target.port}/… \(#[0-9a-f]{{8}}\)", shown)
    proc = Proc(
        "hub", "--bind", "tcp://127.0.0.1:0", "--web", "127.0.0.1:0", "--offline-after", "1",
        "--status-every", "0.5", "--data", str(tmp_path / "data"), "--webhook", url,
    )  # fmt: skip
    seen: list[str] = []
    try:
        web = proc.expect(r"dashboard at (http://\S+)").group(1)
        endpoint = proc.expect(r"receiving on (tcp://\S+)").group(1)
        with camhub.Sender(endpoint) as sender:
            for _ in range(5):
                sender.send_jpeg("porch", camhub.encode_jpeg(np.full((48, 64, 3), 90, np.uint8)))
            assert sender.flush(5)
        # The camera goes offline: an event, whose POSTs fail and are logged...
        failed = proc.expect(r"webhook (.*): HTTP 500 Internal Server Error \(attempt 1 of")
        seen.append(failed.string)
        assert failed.group(1) == shown
        # ...and the status line names the sink every half second.
        seen.append(proc.expect(r"webhook sink .*NOT connected").string)
        api = httpx.get(web + "api/notify", timeout=5).text
        metrics = httpx.get(web + "metrics", timeout=5).text
        assert shown in api
        proc.p.terminate()
        assert proc.wait() == 0
    finally:
        proc.kill()
        target.close()
    assert target.requests >= 1  # it did try the real URL
    everything = "".join([*seen, *proc.lines, api, metrics])
    for secret in (token, query, "T0AAA1111/B0BBB2222", "/services/"):
        assert secret not in everything, secret


def test_redacted_forms() -> None:
    assert redact_url("https://user:pw@example.com/").startswith("https://example.com/… (#")
    assert redact_url("http://[::1]:8123/").startswith("http://[::1]:8123/ (#")
    hook = "https://discord.com/api/webhooks/1/abc"
    assert redact_url(hook) != redact_url(hook + "d")  # fingerprints tell hooks apart
