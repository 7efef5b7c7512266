"""Training of the emotion model (offline, PyTorch): architectures, batch augmentation, the train loop and its
callbacks, checkpoints, run reports with plots, and ONNX export with int8 quantization.

The only package that imports PyTorch, and nothing at run time imports it. It imports ``data/`` and the
shared top-level modules (``errors``, ``model_metadata``, ``evaluation``'s metrics); ``evaluation`` imports
nothing from it.
"""
