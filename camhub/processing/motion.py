"""Motion detection with OpenCV background subtraction (MOG2), the example processor.

Work happens on a copy scaled to ``work_width`` pixels wide (cheap on a Pi-class CPU);
boxes are scaled back and drawn on the full frame.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from camhub.events.model import EventUpdate
from camhub.events.tracker import EventTracker
from camhub.processing.base import Detection, Processor, Result, register
from camhub.types import ArgumentError, CameraName, Frame

_GREEN = (0, 220, 0)


@register
class MotionProcessor(Processor):
    type_name = "motion"

    def __init__(
        self,
        *,
        min_area: float = 0.002,
        work_width: int = 320,
        history: int = 200,
        warmup: int = 5,
        min_frames: int = 3,
        end_after: float = 3.0,
    ) -> None:
        if not 0 < min_area < 1:
            raise ArgumentError(f"min_area is a fraction of the image (0..1), got {min_area}")
        if work_width < 32:
            raise ArgumentError(f"work_width must be at least 32 pixels, got {work_width}")
        self.min_area = min_area
        self.work_width = work_width
        self.history = history
        self.warmup = warmup
        self.camera: CameraName = ""
        self._subtractor: Any = None
        self._kernel = np.ones((3, 3), np.uint8)
        self._seen = 0
        self.min_frames = min_frames
        self.end_after = end_after
        self._events: list[EventUpdate] = []
        self.tracker: EventTracker | None = None

    def start(self, camera: CameraName) -> None:
        self.camera = camera
        self._subtractor = cv2.createBackgroundSubtractorMOG2(
            history=self.history, varThreshold=25, detectShadows=False
        )
        self._seen = 0
        self.tracker = EventTracker(
            camera,
            "motion",
            self._events.append,
            min_frames=self.min_frames,
            end_after=self.end_after,
        )

    def idle(self, now: float) -> list[EventUpdate]:
        if self.tracker is not None:
            self.tracker.tick(now)
        events = self._events[:]
        self._events.clear()
        return events

    def stop(self) -> None:
        # An event cannot outlive its processor; the end reaches nobody after the last
        # Result, so the event store closes events left open (see EventStore.open).
        if self.tracker is not None:
            self.tracker.end()

    def process(self, frame: Frame) -> Result:
        image = np.asarray(frame.image, dtype=np.uint8)
        if image.ndim == 2:
            image = np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), np.uint8)
        h, w = image.shape[:2]
        scale = min(1.0, self.work_width / w)
        small = (
            cv2.resize(
                image,
                (max(1, int(w * scale)), max(1, int(h * scale))),
                interpolation=cv2.INTER_AREA,
            )
            if scale < 1
            else image
        )
        mask = self._subtractor.apply(small)
        self._seen += 1
        detections: list[Detection] = []
        moving = 0.0
        if self._seen > self.warmup:
            mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self._kernel)
            mask = cv2.dilate(mask, self._kernel, iterations=2)
            moving = float(np.count_nonzero(mask)) / mask.size
            contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            min_px = self.min_area * mask.size
            for contour in contours:
                if cv2.contourArea(contour) < min_px:
                    continue
                x, y, bw, bh = cv2.boundingRect(contour)
                box = (int(x / scale), int(y / scale), int(bw / scale), int(bh / scale))
                detections.append(Detection("motion", box))
        self._track(frame, detections, moving)
        annotated = image.copy()
        for det in detections:
            x, y, bw, bh = det.box
            cv2.rectangle(annotated, (x, y), (x + bw, y + bh), _GREEN, 2)
        label = f"motion: {len(detections)} region(s)" if detections else "no motion"
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.6, 2)
        x0 = max(0, w - tw - 16)
        cv2.rectangle(annotated, (x0, 6), (x0 + tw + 12, 14 + th + 6), (0, 0, 0), -1)
        cv2.putText(
            annotated,
            label,
            (x0 + 6, 14 + th),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6,
            (80, 80, 255) if detections else _GREEN,
            2,
            cv2.LINE_AA,
        )
        events = self._events[:]
        self._events.clear()
        return Result(
            image=annotated,
            events=events,
            detections=detections,
            data={
                "motion": bool(detections),
                "regions": len(detections),
                "moving_fraction": round(moving, 4),
            },
        )

    def _track(self, frame: Frame, detections: list[Detection], moving: float) -> None:
        if self.tracker is None:
            return
        biggest = max(detections, key=lambda d: d.box[2] * d.box[3], default=None)
        self.tracker.observe(
            frame.received_at,
            bool(detections),
            score=round(moving, 4) if detections else None,
            box=None if biggest is None else biggest.box,
            snapshot=frame.to_jpeg if detections else None,
            data={"regions": len(detections)} if detections else None,
        )
