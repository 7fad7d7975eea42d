"""The documented op vocabulary of traced graphs.

``torch.export`` names ops like ``aten.convolution.default`` or ``aten.add_.Tensor``.
:func:`normalize_op` maps them to short names:

1. the namespace ``aten.`` is dropped (other namespaces stay: ``torchvision.roi_align``);
2. the overload (``.default``, ``.Tensor``, ``.Scalar``, ``.int`` ...) is dropped;
3. a trailing ``_`` of an in-place variant is dropped (``relu_`` -> ``relu``);
4. aliases merge spellings of one operator: every convolution is
   ``convolution``, every batch norm ``batch_norm``, and so on (:data:`ALIASES`).
"""

from __future__ import annotations

__all__ = ["ALIASES", "normalize_op"]

ALIASES: dict[str, str] = {
    "conv1d": "convolution",
    "conv2d": "convolution",
    "conv3d": "convolution",
    "_convolution": "convolution",
    "cudnn_convolution": "convolution",
    "conv_transpose1d": "conv_transpose",
    "conv_transpose2d": "conv_transpose",
    "conv_transpose3d": "conv_transpose",
    "_native_batch_norm_legit": "batch_norm",
    "_native_batch_norm_legit_no_training": "batch_norm",
    "_native_batch_norm_legit_functional": "batch_norm",
    "native_batch_norm": "batch_norm",
    "cudnn_batch_norm": "batch_norm",
    "native_layer_norm": "layer_norm",
    "native_group_norm": "group_norm",
    "_scaled_dot_product_flash_attention": "scaled_dot_product_attention",
    "_scaled_dot_product_efficient_attention": "scaled_dot_product_attention",
    "_scaled_dot_product_flash_attention_for_cpu": "scaled_dot_product_attention",
    "_to_copy": "to",
    "_softmax": "softmax",
    "_log_softmax": "log_softmax",
    "max_pool2d_with_indices": "max_pool2d",
    "max_pool3d_with_indices": "max_pool3d",
    "_adaptive_avg_pool2d": "adaptive_avg_pool2d",
    "_unsafe_view": "view",
    "mm": "matmul",
    "bmm": "matmul",
}


def normalize_op(target: object) -> str:
    """Short op name of an FX node target (an ``OpOverload``, a function or a string)."""
    raw = (
        str(target)
        if not callable(target) or hasattr(target, "_schema")
        else _callable_name(target)
    )
    parts = raw.split(".")
    if parts[0] == "aten" and len(parts) >= 2:
        name = parts[1]
    elif len(parts) >= 3 and hasattr(target, "_schema"):
        name = f"{parts[0]}.{parts[1]}"  # other namespaces keep their prefix, lose the overload
    else:
        name = raw
    if name.endswith("_") and not name.endswith("__") and len(name) > 1:
        name = name[:-1]
    return ALIASES.get(name, name)


def _callable_name(fn: object) -> str:
    mod = getattr(fn, "__module__", "") or ""
    qual = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return qual if mod in ("_operator", "operator", "builtins", "math") else f"{mod}.{qual}"
