"""The LPIPS-trained CNN family: the original checkpoint (``cnn-original``) and colorbench-trained models
(``cnn-lpips``, ``cnn-mse``). Modules: ``model`` (architecture), ``checkpoint`` (formats), ``inference``
(batched any-size prediction), ``onnx_export`` (ONNX + onnxruntime), ``original`` / ``lpips_cnn`` (methods),
``notebook`` (helpers for notebook 01).
"""
