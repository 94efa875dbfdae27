"""ColTran's upsamplers chunk their work by image-channels, sized from the memory the device has unless told."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from colorbench.methods.coltran import memory
from colorbench.methods.coltran import preprocess as P
from colorbench.methods.coltran.config import full_config
from colorbench.methods.coltran.models import build_model
from colorbench.methods.coltran.pipeline import ColTranPipeline

pytestmark = pytest.mark.usefixtures("one_torch_thread")
GIB = 2**30


def test_chunk_fits_the_share_of_available_memory_and_stays_in_range():
    cpu = torch.device("cpu")
    # half of 10 GiB on a CPU, each 1 GiB item counted 1.75x for the reused heap: 2 items (5 would peak at ~7.5 GiB)
    assert memory.auto_items(GIB, 96, cpu, available=10 * GIB) == 2
    assert memory.auto_items(GIB, 96, torch.device("cuda"), available=10 * GIB) == 8  # 80% on a GPU, no heap factor
    assert memory.auto_items(GIB, 3, cpu, available=100 * GIB) == 3  # never more items than there are
    assert memory.auto_items(GIB, 3, cpu, available=GIB // 10) == 1  # and always at least one
    assert 0 < memory.available_bytes(cpu)


def test_full_size_spatial_estimate_matches_the_measured_order():
    """~1.16 GB per image-channel was measured for the full spatial upsampler (issue 17); the estimate must not be
    below it (an underestimate would let the default exceed the machine) nor wildly above (needless chunking)."""
    spatial = build_model(full_config("spatial_upsampler"))
    per_item = spatial.bytes_per_item(torch.float32)
    assert 1.16e9 <= per_item <= 2.0e9
    assert spatial.bytes_per_item(torch.float16) == per_item // 2
    # a 24 GiB machine with 20 GiB available runs 4 image-channels at once (~8 GB at the measured CPU peak of
    # ~2.0 GB each, within half of what is free), not 8 images (~48 GB)
    assert memory.auto_items(per_item, 3 * 8, torch.device("cpu"), available=20 * GIB) == 4


def test_default_chunking_follows_free_memory_and_does_not_change_outputs(monkeypatch):
    rng = np.random.default_rng(0)
    rgb64 = rng.integers(0, 256, (2, 64, 64, 3)).astype(np.uint8)
    g256 = rng.integers(0, 256, (2, 256, 256)).astype(np.int32)
    bins = rng.integers(0, 512, (2, 64, 64))
    g64 = rng.integers(0, 256, (2, 64, 64)).astype(np.int32)
    whole = ColTranPipeline.smoke(upsampler_batch=6)  # all 6 image-channels in one pass
    expected = whole.upsample_spatial(rgb64, g256), whole.upsample_color(bins, g64)
    with torch.no_grad():  # the all-channels-together logits path, which never passes channel indices
        up = torch.as_tensor(P.upsample_replicate(rgb64, batched=True).astype(np.int64))
        logits = whole.spatial_upsampler.logits(up, torch.as_tensor(g256))
    np.testing.assert_array_equal(expected[0], logits.argmax(-1).numpy())

    tight = ColTranPipeline.smoke()  # default: from free memory; pretend there is room for one item only
    monkeypatch.setattr(memory, "available_bytes", lambda device: 2 * tight.spatial_upsampler.bytes_per_item())
    got = tight.upsample_spatial(rgb64, g256), tight.upsample_color(bins, g64)
    assert tight.last_upsampler_chunks["spatial_upsampler"] == 1
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])

    roomy = ColTranPipeline.smoke()
    monkeypatch.setattr(memory, "available_bytes", lambda device: 100 * GIB)
    roomy.upsample_spatial(rgb64, g256)
    assert roomy.last_upsampler_chunks["spatial_upsampler"] == 6
