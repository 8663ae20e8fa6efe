"""A detector backend written for the tests, in one module as any backend is: bright
blobs are lamps. Its config section sits beside it; ``@register`` is its one registration
line. Worker processes and actors import it through ``DetectorSpec.modules``."""

import time
from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np
from pydantic import Field

from camhub.detect import BackendConfig, Detector, Found, ModelInput, register


class BlobConfig(BackendConfig):
    type: Literal["blobs_for_test"] = "blobs_for_test"
    threshold: int = Field(default=200, ge=1, le=255, description="Brightness of a lamp.")
    input_size: int = Field(default=320, ge=32, le=1024, description="Model input, pixels.")
    cold_s: float = Field(
        default=0.0, ge=0, description="The first inference takes this long (a cold model)."
    )


@register
class BlobDetector(Detector):
    type_name = "blobs_for_test"
    config = BlobConfig
    fill = 0

    def __init__(self, threshold: int = 200, input_size: int = 320, cold_s: float = 0.0) -> None:
        self.labels = ["lamp"]
        self.input_size = (input_size, input_size)
        self.batch_size = 2
        self.threshold = threshold
        self.cold_s = cold_s

    def infer(self, inputs: Sequence[ModelInput]) -> list[Found]:
        if self.cold_s:  # as a real model's first run is (lazy allocations, kernel choice)
            time.sleep(self.cold_s)
            self.cold_s = 0.0
        out = []
        for given in inputs:
            mask = (given.pixels.min(axis=2) >= self.threshold).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            rows = stats[1:n, :4].astype(np.float32).reshape(-1, 4)  # x, y, w, h
            out.append(Found(rows, np.ones(len(rows), np.float32), np.zeros(len(rows), np.int64)))
        return out
