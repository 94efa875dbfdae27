"""DDColor (Kang et al., "DDColor: Towards Photo-Realistic Image Colorization via Dual Decoders", ICCV 2023), written
from the authors' code (github.com/piddnad/DDColor, Apache-2.0) and checked against it layer by layer
(``tests/test_ddcolor_reference.py``, shared fixture ``ddcolor/``).

Modules, one job each:

* :mod:`.encoder` — ConvNeXt-T/L as the authors run it (normalised features captured, un-normalised passed on);
* :mod:`.pixel_decoder` — the U-Net upsampler with eval-mode spectral norm and blur;
* :mod:`.color_decoder` — the colour queries and their 9-layer transformer decoder;
* :mod:`.model` — the network, and the encoder size read from a checkpoint's shapes;
* :mod:`.checkpoint` — released weights (Hugging Face repos, the authors' ``.pth`` files), loaded strictly;
* :mod:`.pipeline` — the authors' ``ColorizationPipeline`` pre/post-processing (OpenCV Lab), batched;
* :mod:`.method` — the ``ddcolor`` colorbench method and its options.

Importing this package does not import torch or OpenCV.
"""
