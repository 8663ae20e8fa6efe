from __future__ import annotations

import pytest

from camhub.transport import AddressError, check_endpoint


@pytest.mark.parametrize(
    "good",
    ["tcp://127.0.0.1:5555", "tcp://hub.local:1", "tcp://[::1]:5555", "ipc:///tmp/x", "inproc://a"],
)
def test_good_endpoints(good: str) -> None:
    assert check_endpoint(good) == good


@pytest.mark.parametrize("good", ["tcp://*:5555", "tcp://127.0.0.1:0", "tcp://127.0.0.1:*"])
def test_bind_only_endpoints(good: str) -> None:
    assert check_endpoint(good, bind=True) == good
    with pytest.raises(AddressError):
        check_endpoint(good)


@pytest.mark.parametrize(
    "bad", ["", "5555", "tcp://:5555", "tcp://a b:1", "udp://x:1", "tcp://x:99999"]
)
def test_bad_endpoints(bad: str) -> None:
    with pytest.raises(AddressError, match="bad address"):
        check_endpoint(bad)
