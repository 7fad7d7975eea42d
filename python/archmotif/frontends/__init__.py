"""Frontends: turn models and files from other tools into :class:`~archmotif.OpGraph`.

- :mod:`.torch_export`: ``trace(model)`` through ``torch.export``;
- :mod:`.onnx`: ``from_onnx(path)``, weights not needed;
- :mod:`.builders`: build timm, torchvision and transformers models by name on
  the meta device, with example inputs chosen by modality.
"""
