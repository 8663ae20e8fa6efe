"""A test detector for the pool: YOLOv3-tiny that states a batch size of 4 and records
how many images each call got (in a file, since it runs in a worker process)."""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from camhub.detect import Found, ModelInput, register
from camhub.detect.darknet import DarknetDetector


@register
class BatchyDetector(DarknetDetector):
    type_name = "batchy_for_test"

    def __init__(self, log: str, **options: Any) -> None:
        super().__init__(**options)
        self.batch_size = 4
        self.log = Path(log)

    def infer(self, inputs: Sequence[ModelInput]) -> list[Found]:
        with self.log.open("a") as f:
            f.write(f"{os.getpid()} {len(inputs)}\n")
        return super().infer(inputs)
