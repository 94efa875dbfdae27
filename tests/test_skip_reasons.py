"""Issue 14, point 8: a skipped image's reason says what is wrong with it, not always "corrupt — re-download"."""

import os

import numpy as np
import pytest
from PIL import Image

from colorbench.cli import main as cli_main
from colorbench.data.images import ImageLoadError, load_image
from colorbench.paths import results_dir
from colorbench.runfolder import read_csv


def test_a_photo_over_pillows_pixel_limit_says_so_and_how_to_raise_it(tmp_path):
    path = tmp_path / "huge.png"
    Image.new("1", (12000, 12000)).save(path)  # 1 bit per pixel: 18 MB in memory, header says 144 megapixels
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    reason = info.value.reason
    assert "12000x12000 = 144,000,000 pixels" in reason and "--max-pixels 144000000" in reason
    assert "corrupt" not in reason


def test_max_pixels_raises_or_lowers_the_limit_for_a_run(tmp_path):
    data = tmp_path / "photos"
    data.mkdir()
    Image.fromarray(np.full((100, 100, 3), 90, np.uint8)).save(data / "big.png")
    Image.fromarray(np.full((20, 20, 3), 90, np.uint8)).save(data / "small.png")
    common = ["run", "--dataset", str(data), "--methods", "gray"]
    assert cli_main([*common, "--run", "strict", "--max-pixels", "5000"]) == 0
    results = results_dir()
    skipped = read_csv(results / "strict" / "skipped.csv")
    assert [row["id"] for row in skipped] == ["big"] and "--max-pixels 10000" in skipped[0]["reason"]
    assert cli_main([*common, "--run", "loose", "--max-pixels", "10000"]) == 0
    assert read_csv(results / "loose" / "skipped.csv") == []


def test_a_permission_error_says_permission_denied(tmp_path, monkeypatch):
    path = tmp_path / "private.jpg"
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path)
    os.chmod(path, 0)
    if os.geteuid() == 0:  # root reads anything: make the open fail the way it does for everyone else
        import PIL.Image

        real_open = PIL.Image.open

        def open_as_non_root(fp, *args, **kwargs):
            if str(fp) == str(path):
                raise PermissionError(13, "Permission denied", str(fp))
            return real_open(fp, *args, **kwargs)

        monkeypatch.setattr(PIL.Image, "open", open_as_non_root)
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert "permission denied" in info.value.reason and "corrupt" not in info.value.reason


def test_decoding_on_threads_leaves_pillows_pixel_limit_alone(tmp_path):
    """The scorer decodes its own PNGs (no pixel limit) on worker threads while other code relies on Pillow's
    guard: the temporary limit must never leak. Each thread used to save and restore the global itself, and an
    unlucky interleaving left Pillow with no limit at all (found when this file ran after a scoring test)."""
    from concurrent.futures import ThreadPoolExecutor

    import PIL.Image

    from colorbench.data.images import read_png_rgb

    paths = []
    for i in range(8):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(np.full((64, 64, 3), i * 20, np.uint8)).save(paths[-1])
    before = PIL.Image.MAX_IMAGE_PIXELS
    with ThreadPoolExecutor(8) as pool:
        for _ in range(25):
            list(pool.map(read_png_rgb, paths * 4))
    assert PIL.Image.MAX_IMAGE_PIXELS == before
