"""Object labels: COCO's 80 names, the old Darknet/VOC spellings accepted for them, and
the one check that every label a user gives (``--detect``, ``[detect] labels``, zone and
line ``labels``, the events filter) names something the detector knows.

The built-in YOLOv3-tiny ships Darknet's ``coco.names``, which spells six classes the
Pascal VOC way (``motorbike``, ``aeroplane``, ``sofa``, ``tvmonitor``, ``diningtable``,
``pottedplant``). camhub reports COCO's names (those of the COCO dataset and of
Ultralytics exports) and reads the old ones as aliases, so a config written either way
works with either kind of model.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from camhub.detect.base import DetectorError

Where = tuple[str | int, ...]

COCO_LABELS: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip
"""COCO's class names in the models' class-id order (as Ultralytics exports name them)."""

ALIASES: dict[str, str] = {
    "motorbike": "motorcycle",
    "aeroplane": "airplane",
    "sofa": "couch",
    "tvmonitor": "tv",
    "diningtable": "dining table",
    "pottedplant": "potted plant",
}
"""Old (Darknet ``coco.names`` / Pascal VOC) name -> COCO name."""


class UnknownLabel(DetectorError, ValueError):
    """A label the detector does not know; the message lists the closest known ones."""

    def __init__(self, label: str, known: Sequence[str], where: Where = (), what: str = "") -> None:
        self.label = label
        self.close = close_matches(label, known)
        self.where = where
        """Where the label was given, as a path in the ``[detect]`` section (``("labels",
        1)``), for the config's error messages to point at the line."""
        hint = f": did you mean {' or '.join(map(repr, self.close))}?" if self.close else ""
        super().__init__(
            f"{what + ': ' if what else ''}the detector does not know {label!r}{hint} "
            f"(it knows: {', '.join(known)})"
        )


def _plain(label: str) -> str:
    """Case, ``_``/``-`` and runs of spaces do not matter (``Dining_Table``: ``dining table``)."""
    return " ".join(label.replace("_", " ").replace("-", " ").split()).casefold()


def _key(label: str) -> str:
    """Spelling-insensitive form, with an old name as its COCO name (``diningtable``,
    ``Dining_Table`` and ``dining table`` are all ``dining table``)."""
    plain = _plain(label)
    return ALIASES.get(plain, ALIASES.get(plain.replace(" ", ""), plain))


def canonical(label: str) -> str:
    """COCO's name for an old one (``motorbike`` -> ``motorcycle``); any other label as is."""
    return ALIASES.get(label, label)


def same(a: str, b: str) -> bool:
    """Whether two labels name the same thing (``tvmonitor`` and ``tv``)."""
    return a == b or _key(a) == _key(b)


def aliases_of(label: str) -> list[str]:
    """The names ``label`` may be saved under: its COCO name first, then the old ones."""
    name = canonical(label)
    return list(dict.fromkeys([name, label, *(o for o, n in ALIASES.items() if n == name)]))


def close_matches(label: str, known: Sequence[str], n: int = 3) -> list[str]:
    """Up to ``n`` known labels that look like ``label``, compared in every spelling."""
    spellings: dict[str, str] = {}
    for name in reversed(known):  # the first of equal spellings wins
        for s in (_plain(name), *aliases_of(_key(name))):
            spellings[s] = name
    found = difflib.get_close_matches(_plain(label), list(spellings), n=2 * n, cutoff=0.6)
    return list(dict.fromkeys(spellings[s] for s in found))[:n]


def resolve(label: str, known: Sequence[str], where: Where = (), what: str = "") -> str:
    """The name in ``known`` that ``label`` means (itself, its COCO or old name, or the same
    name spelt with other case or underscores); :class:`UnknownLabel` if there is none
    (``where``: its config path; ``what``: a prefix for the message, such as the zone)."""
    if label in known:
        return label
    key = _key(label)
    for name in known:
        if _key(name) == key:
            return name
    raise UnknownLabel(label, known, where, what)


def resolve_all(
    labels: Iterable[str], known: Sequence[str], where: Where = (), what: str = ""
) -> list[str]:
    """:func:`resolve` each label; ``where`` + the index locates a bad one."""
    return [resolve(label, known, (*where, i), what) for i, label in enumerate(labels)]
