"""The built-in subset: about 100 real architectures over more than ten families,
traced ahead of time and shipped inside the package (``data/builtin.npz``), so the
README's main job and the tests run without building anything.

Families have several members each (depths and widths of one design), which is what
retrieval needs: torchvision's ResNets, VGGs, DenseNets, EfficientNets, RegNets,
ConvNeXts, ViTs, Swins, ShuffleNets, MNASNets and MobileNets; timm's DeiTs, MLP-Mixers,
ResMLPs and LeViTs; and transformers' BERT, GPT-2, T5, Llama and Whisper at several
depths (``@num_hidden_layers=N``-style config overrides, see
:mod:`archmotif.frontends.builders`).

Regenerate with ``python -m archmotif.datasets.builtin`` (a few minutes on 2 cores);
graphs are stored without per-node names to keep the file small (their costs,
``node_flops`` and the ``params``/``flops``/``memory`` labels, and their operator
attributes are kept).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = ["BUILTIN_SPECS", "build_builtin"]

_TV = [
    *(f"resnet{d}" for d in (18, 34, 50, 101, 152)),
    "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d",
    "wide_resnet50_2", "wide_resnet101_2",
    *(f"vgg{d}{bn}" for d in (11, 13, 16, 19) for bn in ("", "_bn")),
    *(f"densenet{d}" for d in (121, 161, 169, 201)),
    *(f"efficientnet_b{i}" for i in range(8)),
    "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
    "mobilenet_v3_small", "mobilenet_v3_large", "mobilenet_v2",
    *(f"regnet_{k}_{s}" for k in ("x", "y") for s in ("400mf", "800mf", "1_6gf", "3_2gf")),
    "convnext_tiny", "convnext_small", "convnext_base", "convnext_large",
    "vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14",
    "swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b",
    "shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0",
    "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
    "squeezenet1_0", "squeezenet1_1",
]  # fmt: skip
_TIMM = [
    "deit_tiny_patch16_224", "deit_small_patch16_224", "deit_base_patch16_224",
    "mixer_s16_224", "mixer_b16_224", "mixer_l16_224",
    "resmlp_12_224", "resmlp_24_224", "resmlp_36_224",
    "levit_128s", "levit_128", "levit_192", "levit_256",
]  # fmt: skip
_HF = [
    *(f"bert@num_hidden_layers={n}" for n in (2, 4, 6, 12)),
    *(f"gpt2@n_layer={n}" for n in (2, 4, 6, 12)),
    *(f"t5@num_layers={n},num_decoder_layers={n}" for n in (2, 4, 6)),
    *(f"llama@num_hidden_layers={n}" for n in (2, 4, 8)),
    *(f"whisper@encoder_layers={n},decoder_layers={n}" for n in (2, 4)),
]

#: What the built-in subset holds, in order.
BUILTIN_SPECS: tuple[str, ...] = (
    *(f"torchvision:{n}" for n in _TV),
    *(f"timm:{n}" for n in _TIMM),
    *(f"transformers:{n}" for n in _HF),
)


def build_builtin(path: str | os.PathLike[str] | None = None, *, workers: int = 2) -> Path:
    """Traces :data:`BUILTIN_SPECS` and writes the built-in corpus (default: the
    package's ``data/builtin.npz``). Every spec must trace: a failure raises."""
    from archmotif.corpus import load_corpus, save_corpus
    from archmotif.datasets import BUILTIN_PATH, zoo
    from archmotif.errors import TraceError
    from archmotif.graph import OpGraph

    out = Path(path) if path is not None else BUILTIN_PATH
    with tempfile.TemporaryDirectory() as tmp:
        summary = zoo.build(Path(tmp) / "builtin.npz", specs=BUILTIN_SPECS, workers=workers)
        if summary.failures:
            raise TraceError(f"built-in models failed to trace: {summary.failures}")
        graphs = [
            OpGraph(
                g.ops,
                g.edges,
                op_names=g.op_names,
                name=g.name,
                labels=g.labels,
                node_flops=g.node_flops,
                attrs=g.attrs,
                attr_names=g.attr_names if g.attrs is not None else None,
            )
            for g in load_corpus(summary.path)
        ]
    save_corpus(graphs, out, meta={"dataset": "builtin", "specs": list(BUILTIN_SPECS)})
    return out


if __name__ == "__main__":  # pragma: no cover
    print(build_builtin(sys.argv[1] if len(sys.argv) > 1 else None))
