"""Read the send time that ``rtsp_server.py --stamp`` draws into each frame as a barcode
of 48 black/white blocks along the top rows (milliseconds since the epoch)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

STAMP_BITS = 48
STAMP_ROWS = 32


def read_barcode(image: npt.NDArray[np.uint8]) -> float:
    """Seconds since the epoch encoded in a decoded BGR frame."""
    width = image.shape[1]
    block = width // STAMP_BITS
    row = image[STAMP_ROWS // 2, :, 1].astype(np.int32)  # green ~ luma for grey pixels
    millis = 0
    for bit in range(STAMP_BITS):
        centre = bit * block + block // 2
        millis = (millis << 1) | int(row[centre] > 128)
    return millis / 1000.0
