"""A test detector for the worker pool: real boxes from YOLOv3-tiny, but it hangs on an
all-black picture (to test that the hub restarts a hung worker). Imported by the worker
process through ``DetectorSpec.modules``."""

import time
from collections.abc import Sequence

from camhub.detect import Found, ModelInput, register
from camhub.detect.darknet import DarknetDetector


def black(given: ModelInput) -> bool:
    """The picture inside the padding is all black (the padding is grey)."""
    x, y, w, h = given.content
    return int(given.pixels[y : y + h, x : x + w].max()) == 0


@register
class SleepyDetector(DarknetDetector):
    type_name = "sleepy_for_test"

    def infer(self, inputs: Sequence[ModelInput]) -> list[Found]:
        if any(black(given) for given in inputs):
            time.sleep(3600)
        return super().infer(inputs)
