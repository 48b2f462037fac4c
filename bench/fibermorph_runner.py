"""Count hairs with fibermorph 1.0.1's curvature pipeline (run by bench/shedding.py in fibermorph's venv).

Usage: python fibermorph_runner.py OUT.json PX_PER_MM PHOTO [PHOTO ...]

Each photo goes through fibermorph's own steps (Frangi filter, binarize, remove particles, skeletonize,
prune); the count is the number of skeleton elements, which is what fibermorph reports one row per.
"""

import json
import sys
import tempfile
import time

import skimage.measure
from fibermorph.core.filters import filter_curv
from fibermorph.processing.binary import binarize_curv, remove_particles
from fibermorph.processing.morphology import prune, skeletonize


def main(out_path, px_per_mm, photos):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for photo in photos:
            started = time.perf_counter()
            filtered, name = filter_curv(photo, tmp, False)
            binary = binarize_curv(filtered, name, tmp, False)
            clean = remove_particles(
                binary, tmp, name, minpixel=int(px_per_mm / 2), prune=False, save_img=False
            )
            skeleton = skeletonize(clean, name, tmp, False)
            pruned = prune(skeleton, name, tmp, False)
            _, count = skimage.measure.label(pruned.astype(int) > 0, connectivity=2, return_num=True)
            rows.append({"photo": photo, "count": int(count), "seconds": time.perf_counter() - started})
            with open(out_path, "w") as fh:
                json.dump(rows, fh)


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), sys.argv[3:])
