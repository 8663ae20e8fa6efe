"""A test detector for the worker pool: real boxes from YOLOv3-tiny, but it hangs on an
all-black image (to test that the hub restarts a hung worker). Imported by the worker
process through ``DetectorSpec.modules``."""

import time
from collections.abc import Sequence

from camhub.detect import Box, register
from camhub.detect.darknet import DarknetDetector
from camhub.types import Image


@register
class SleepyDetector(DarknetDetector):
    type_name = "sleepy_for_test"

    def detect(self, images: Sequence[Image]) -> list[list[Box]]:
        if any(int(im.max()) == 0 for im in images):
            time.sleep(3600)
        return super().detect(images)
