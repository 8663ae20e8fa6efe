"""The hub's periodic status lines: an offline camera is logged once per outage (plus a
rare reminder), not every status interval; rates in kB/s."""

from __future__ import annotations

import logging
import threading

import pytest

import camhub
from camhub.config import FleetConfig
from camhub.service import HubService
from tests.conftest import wait_until
from tests.web.conftest import jpegs

pytestmark = pytest.mark.timeout(60)


def test_offline_camera_is_logged_once_per_outage_plus_rare_reminders(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    hub = {
        "bind": "tcp://127.0.0.1:0",
        "dashboard": False,
        "keep_data": False,
        "offline_after": 0.5,
        "status_every": 0.1,
        "offline_reminder": 1.5,
    }
    service = HubService(FleetConfig.model_validate({"hub": hub})).start()
    try:
        assert service.hub is not None
        with camhub.Sender(service.hub.endpoint) as sender:
            for jpeg in jpegs(5):
                assert sender.send_jpeg("phone", jpeg)
            assert sender.flush(5)
        stop = threading.Event()
        runner = threading.Thread(target=service.run, args=(stop, 4.0))
        runner.start()
        wait_until(lambda: "kB/s" in caplog.text, what="an online status line")
        runner.join(10)
    finally:
        service.stop()
    messages = [r.getMessage() for r in caplog.records if "phone" in r.getMessage()]
    went = [m for m in messages if "offline since" in m and "still" not in m]
    reminders = [m for m in messages if "still offline since" in m]
    assert len(went) == 1, messages  # the hub's own line when the outage began
    # About 3.5 s offline with a 1.5 s reminder: 1 or 2 reminders, not one per 0.1 s.
    assert 1 <= len(reminders) <= 3, messages
    assert all("kb/s" not in m for m in messages)
