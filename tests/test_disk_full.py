"""Issue 14, point 9: a full disk is reported with the folder and the space needed, not only "[Errno 28]"."""

import errno
import os

import numpy as np
import pytest
from PIL import Image

from colorbench.cli import main as cli_main
from colorbench.paths import results_dir

# the stand-in for a full disk tells the run's files from others by /proc/self/fd (Linux)
pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd (Linux)")


def test_a_full_disk_names_the_folder_and_the_space_needed(tmp_path, monkeypatch, capsys):
    data = tmp_path / "photos"
    data.mkdir()
    for i in range(3):
        Image.fromarray(np.full((64, 64, 3), 40 * i, np.uint8)).save(data / f"p{i}.png")
    real_fsync = os.fsync
    images = str(results_dir() / "full" / "images")

    def fsync_on_a_full_disk(fd):  # the disk fills up once the method's outputs are written
        if os.readlink(f"/proc/self/fd/{fd}").startswith(images):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_on_a_full_disk)
    assert cli_main(["run", "--dataset", str(data), "--methods", "gray", "--run", "full"]) == 2
    err = capsys.readouterr().err
    assert f"no space left on the device of {images}/gray" in err
    assert "the file being written needs" in err and "free there" in err and "3 images to write" in err
    assert not list((results_dir() / "full").rglob(".tmp-*"))  # nothing half-written left behind
