"""Recreate the bundled samples from the images scikit-image and matplotlib ship (no network needed).

    python data/samples/make_samples.py

Each image is resized so its longer side is at most 512 px (Lanczos) and stored as JPEG quality 95, in a
sub-folder named after what it shows: the folder name is the label (used by label-aware prompts and per-class tables).
"""

from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
MAX_SIDE = 512


def _sources():
    import matplotlib.cbook
    import skimage.data as skd

    yield "astronaut", "astronaut", skd.astronaut()
    yield "cat", "chelsea", skd.chelsea()
    yield "coffee cup", "coffee", skd.coffee()
    yield "rocket launch", "rocket", skd.rocket()
    yield "deep space", "hubble_deep_field", skd.hubble_deep_field()
    yield "retina", "retina", skd.retina()
    yield "stained tissue", "immunohistochemistry", skd.immunohistochemistry()
    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        yield "portrait", "grace_hopper", np.asarray(Image.open(fh).convert("RGB"))


def main() -> None:
    for label, stem, rgb in _sources():
        img = Image.fromarray(rgb)
        scale = MAX_SIDE / max(img.size)
        if scale < 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.LANCZOS)
        out = HERE / label / f"{stem}.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        img.save(out, quality=95)
        print(out.relative_to(HERE), img.size)


if __name__ == "__main__":
    main()
