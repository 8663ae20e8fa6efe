"""Real photographs that scikit-image ships, as BGR arrays (what camhub frames hold)."""

import cv2
import numpy as np
import numpy.typing as npt
from skimage import data


def photo(name: str) -> npt.NDArray[np.uint8]:
    rgb = getattr(data, name)()
    return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
