"""ColTran (Kumar, Weissenborn, Kalchbrenner, ICLR 2021) in PyTorch, loading Google's released checkpoints.

Checked against the official code (tests): logits to ~1e-5; greedy (argmax) samples equal the official ones except
at near-ties, where the top-2 probabilities lie within float noise and either choice is right; preprocessing
equal bit for bit.

Modules, one job each:

* :mod:`.preprocess` — the official input pipeline, bit-exact (centre crop, TF area resize, TF gray, 3-bit bins);
* :mod:`.config` — model configs (released, test, smoke) and the ``config.yaml`` reader;
* :mod:`.layers`, :mod:`.core`, :mod:`.models` — the networks, parameters at the official attribute paths;
* :mod:`.heap` — large CPU tensors reused on the heap during an upsampler call (no page faults per layer);
* :mod:`.naming` — the rule that names every official variable for any config (checked against the manifests);
* :mod:`.convert` — TF checkpoint -> safetensors (the only TensorFlow user), and TF-free loading;
* :mod:`.sampler` — the official sampler (reference) and its KV-cached equivalent;
* :mod:`.pipeline` — the three stages chained on numpy images (the notebook API);
* :mod:`.method` — the ``coltran`` colorbench method.

Notebook entry points::

    from colorbench.methods.coltran.pipeline import ColTranPipeline
    pipe = ColTranPipeline.from_converted("models/coltran", device="cuda")   # or ColTranPipeline.smoke()
    out = pipe.run(grays, mode="argmax")              # .coarse_rgb_64, .rgb_64, .rgb_256, .seconds
    k = pipe.samples(gray, k=4, seed=0)               # K samples of one image, seeded
"""
