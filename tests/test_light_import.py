"""``import camhub`` loads only what the imagezmq drop-in needs (issue 8).

Checked in a fresh interpreter, since this test process has long since imported
everything. The import-time figure itself is measured by bench/bench_import.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import camhub

HEAVY = ["uvicorn", "starlette", "pydantic", "yaml", "cv2", "av", "httpx", "asyncio"]
"""Packages the drop-in does not need (asyncio comes with the web server and zmq.asyncio)."""

LAZY_MODULES = [
    "camhub.web",
    "camhub.config",
    "camhub.processing",
    "camhub.agent",
    "camhub.sources",
]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


def _top_level(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_import_camhub_loads_only_zmq_numpy_and_the_jpeg_codec() -> None:
    loaded = _modules_after("import camhub")
    assert {"zmq", "numpy", "simplejpeg"} <= _top_level(loaded)
    assert _top_level(loaded) & set(HEAVY) == set()
    assert {m for m in loaded if m.startswith(tuple(LAZY_MODULES))} == set()


def test_the_tutorial_loop_stays_light() -> None:
    code = (
        "import camhub as imagezmq\n"
        "hub = imagezmq.ImageHub('tcp://127.0.0.1:0')\n"
        "sender = imagezmq.ImageSender(hub.endpoint)\n"
        "sender.close(); hub.close()"
    )
    assert _top_level(_modules_after(code)) & set(HEAVY) == set()


def test_heavy_names_load_on_first_use() -> None:
    loaded = _modules_after("import camhub; camhub.WebServer; camhub.load_config")
    assert {"uvicorn", "pydantic"} <= _top_level(loaded)


def test_dir_lists_every_public_name_lazy_or_not() -> None:
    assert set(camhub.__all__) <= set(dir(camhub))
    for name in camhub.__all__:
        assert getattr(camhub, name) is not None
    try:
        camhub.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("unknown names must raise AttributeError")
