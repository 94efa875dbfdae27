"""The one image loader against a zoo of awkward and broken files."""

import io

import numpy as np
import pytest
from PIL import Image

from colorbench.data.images import ImageLoadError, load_image


def _colour_image(w=40, h=24) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 128)], -1).astype(np.uint8)


def test_exif_orientation_is_applied(tmp_path):
    rgb = _colour_image(40, 24)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(rgb).save(path, exif=exif, quality=98)
    loaded = load_image(path)
    assert loaded.rgb.shape == (40, 24, 3)  # width and height swapped
    # the top-left of the displayed image is the stored bottom-left
    np.testing.assert_allclose(loaded.rgb[0, 0].astype(int), rgb[-1, 0].astype(int), atol=6)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(_colour_image()).convert("CMYK").save(path, quality=98)
    loaded = load_image(path)
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.shape == (24, 40, 3)
    assert loaded.source_mode == "CMYK" and loaded.has_color
    assert np.abs(loaded.rgb.astype(int) - _colour_image().astype(int)).mean() < 8


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:5, :, 3] = 255  # top half opaque red, bottom half transparent
    path = tmp_path / "rgba.png"
    Image.fromarray(rgba, "RGBA").save(path)
    rgb = load_image(path).rgb
    assert rgb[0, 0].tolist() == [255, 0, 0]
    assert rgb[9, 9].tolist() == [255, 255, 255]


def test_palette_with_and_without_transparency(tmp_path):
    img = Image.fromarray(_colour_image()).convert("P", palette=Image.ADAPTIVE, colors=16)
    img.save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").has_color
    img.info["transparency"] = 0
    img.save(tmp_path / "pt.png", transparency=0)
    assert load_image(tmp_path / "pt.png").rgb.shape == (24, 40, 3)


def test_16bit_gray_png_is_scaled_and_flagged_gray(tmp_path):
    arr = (np.arange(32 * 32, dtype=np.uint32).reshape(32, 32) * 64).astype(np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(arr).save(path)
    loaded = load_image(path)
    assert loaded.rgb.dtype == np.uint8
    assert loaded.rgb[..., 0].max() == round(arr.max() / 65535 * 255)
    assert not loaded.has_color


@pytest.mark.parametrize("mode", ["L", "LA", "1"])
def test_grayscale_sources_are_not_ground_truth(tmp_path, mode):
    path = tmp_path / f"gray_{mode}.png"
    Image.fromarray(_colour_image()).convert(mode).save(path)
    loaded = load_image(path)
    assert loaded.rgb.shape == (24, 40, 3) and not loaded.has_color


def test_rgb_file_holding_a_gray_photo_is_flagged(tmp_path):
    path = tmp_path / "grayish.jpg"
    Image.fromarray(_colour_image()).convert("L").convert("RGB").save(path, quality=90)
    assert not load_image(path).has_color


def test_real_grayscale_kaggle_image_is_flagged(sports_dir):
    loaded = load_image(sports_dir / "test" / "ski jumping" / "2.jpg")
    assert loaded.source_mode == "L" and not loaded.has_color
    assert load_image(sports_dir / "test" / "ski jumping" / "1.jpg").has_color


def test_truncated_jpeg_fails_with_file_name(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(_colour_image(200, 200)).save(buf, format="JPEG")
    path = tmp_path / "truncated.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match="truncated.jpg.*corrupt or truncated"):
        load_image(path)


@pytest.mark.parametrize("content,reason", [(b"", "not a recognised image"),
                                            (b"hello, not an image", "not a recognised image"),
                                            (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "")])
def test_garbage_files_fail_cleanly(tmp_path, content, reason):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError, match="bad.png") as info:
        load_image(path)
    assert reason in str(info.value)


def test_missing_and_tiny_files(tmp_path):
    with pytest.raises(ImageLoadError, match="file not found"):
        load_image(tmp_path / "nope.jpg")
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "tiny.png")
    with pytest.raises(ImageLoadError, match="unusable image size"):
        load_image(tmp_path / "tiny.png")


def test_truncated_file_rejected_even_if_another_library_relaxed_pil(tmp_path, monkeypatch):
    from PIL import ImageFile

    buf = io.BytesIO()
    Image.fromarray(_colour_image(200, 200)).save(buf, format="JPEG")
    path = tmp_path / "truncated.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ImageLoadError):
        load_image(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is restored
