"""Our fragmented MP4 in Debian's chromium: a file plays to its end in a ``<video>``
element with every picture decoded, and the same init segment and fragments appended
one by one to a Media Source Extensions buffer (what issue 18's live view does) play
too. H.264, VP9 and VP8 play; H.265 is not offered by this chromium at all (no
hardware decoder), which the test records."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from camhub.video.codecconfig import track_config
from camhub.video.fmp4 import init_segment
from camhub.video.fmp4scan import scan
from camhub.video.fragmenter import Fragmenter
from camhub.video.packet import Codec
from tests.video.coded import encode, scene
from tests.video.player import launch, play_file, play_mse
from tests.video.test_fmp4 import write_mp4

pytestmark = pytest.mark.timeout(120)

COUNT = 45


@pytest.fixture(scope="module")
def page(playwright: Any) -> Iterator[Any]:
    browser = launch(playwright)
    yield browser.new_page()
    browser.close()


@pytest.fixture(scope="module")
def frames() -> list:  # type: ignore[type-arg]
    return scene(COUNT, (320, 240))


@pytest.mark.parametrize("codec", ["h264", "vp9", "vp8"])
def test_a_file_plays_to_the_end(
    page: Any,
    tmp_path: Path,
    frames: list,
    codec: Codec,  # type: ignore[type-arg]
) -> None:
    path = tmp_path / "out.mp4"
    path.write_bytes(write_mp4(encode(codec, frames, gop=15)))
    got = play_file(page, path)
    assert got["ended"], got
    assert got["error"] is None and got["width"] == 320
    assert got["frames"] == COUNT
    assert got["duration"] == pytest.approx(COUNT / 15, abs=0.01)


@pytest.mark.parametrize("codec", ["h264", "vp9"])
def test_fragments_appended_to_media_source_play(
    page: Any,
    frames: list,
    codec: Codec,  # type: ignore[type-arg]
) -> None:
    packets = encode(codec, frames, gop=15)
    data = write_mp4(packets)
    found = scan(io.BytesIO(data))
    pieces = [found.init] + [data[f.offset : f.offset + f.size] for f in found.fragments]
    got = play_mse(page, track_config(codec, packets[0].data).mime, pieces)
    assert got["ended"], got
    assert got["frames"] == COUNT and got["buffered"] == pytest.approx(COUNT / 15, abs=0.01)


def test_this_chromium_does_not_offer_hevc(page: Any, tmp_path: Path, frames: list) -> None:  # type: ignore[type-arg]
    path = tmp_path / "out.mp4"
    path.write_bytes(write_mp4(encode("hevc", frames[:15], gop=15)))
    got = play_file(page, path)
    assert not got["ended"], got
    # MEDIA_ERR_SRC_NOT_SUPPORTED (4), or play() refused with NotSupportedError
    assert str(got["error"]).startswith("4") or "NotSupported" in str(got.get("refused")), got


def test_a_fragment_per_packet_plays_through_media_source(page: Any, frames: list) -> None:  # type: ignore[type-arg]
    """What a live view (issue 18) sends: the init segment, then one fragment per packet,
    each made when the next packet arrives."""
    packets = encode("h264", frames, gop=15)
    fragmenter = Fragmenter(0.0, max_seconds=0)
    pieces = [init_segment(track_config("h264", packets[0].data))]
    for i, p in enumerate(packets):
        made = fragmenter.add(i / 15, p)
        if made:
            pieces.append(b"".join(made))
    pieces.append(b"".join(fragmenter.flush() or []))
    got = play_mse(page, track_config("h264", packets[0].data).mime, pieces)
    assert got["ended"], got
    assert got["frames"] == COUNT
