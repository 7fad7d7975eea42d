"""The hand-written queries: which model, which inputs, and what each should retrieve.

Every entry names a factory in :mod:`benches.rewrites.models` (a plain-PyTorch model
written from the paper, never imported or copied from timm, torchvision or
transformers), the inputs it is traced with, the **fine families** a correct search
returns and the **coarse class**. Family names are the zoo's labels
(:func:`archmotif.datasets.zoo.family_of`: timm and torchvision names stripped of sizes,
transformers' ``model_type``); a design the libraries file under several names lists
them all (torchvision's ``regnet`` is timm's ``regnetx``/``regnety``; torchvision's
``mobilenetv2`` is transformers' ``mobilenet_v2``; timm's undistilled ``deit_*`` are
ViTs) and nothing else: a LLaMA that finds Mistral has found a sibling, not its family.
A design with no family in the zoo (a U-Net) has no fine family and counts for the
coarse class only.

:func:`trace_queries` builds each model on the meta device (no weights) and traces it
with :func:`archmotif.trace`, passing ``normalize`` through when ``trace`` accepts it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["QUERIES", "Query", "example_inputs", "trace_queries"]


@dataclass(frozen=True)
class Query:
    """One hand-written model: ``factory`` is ``"module:function"`` under
    ``benches.rewrites.models``; ``inputs`` one of :data:`INPUT_KINDS`."""

    name: str
    factory: str
    inputs: str
    families: tuple[str, ...]
    coarse: str
    note: str = ""


#: What each kind of model is traced with (shapes; token ids are int64).
INPUT_KINDS = {
    "image": "float[1,3,224,224]",
    "tokens": "long[1,32]",
    "text2text": "long[1,32] long[1,16]",
    "speech": "float[1,80,400] long[1,16]",
}

_C, _V, _M = "cnn", "vision-transformer", "mlp"
# timm's deit_* without distillation are ViTs trained another way: the same design
_VIT = ("vit", "deit")
QUERIES: tuple[Query, ...] = (
    Query("vgg9_bn", "convnets:vgg9_bn", "image", ("vgg",), _C, "6 convs with BatchNorm"),
    Query("vgg15_narrow", "convnets:vgg15_narrow", "image", ("vgg",), _C, "no BN, half width"),
    Query("alexnet_narrow", "convnets:AlexNet", "image", ("alexnet",), _C, "half width"),
    Query("resnet14_basic", "convnets:resnet14_basic", "image", ("resnet",), _C, "basic, 2-2-1-1"),
    Query("resnet26_bottleneck", "convnets:resnet26_bottleneck", "image", ("resnet",), _C,
          "bottleneck, 2-2-2-2"),
    Query("resnext26_16x4d", "convnets:resnext26_16x4d", "image", ("resnext",), _C,
          "16 groups of 4"),
    Query("wide_resnet26_2", "convnets:wide_resnet26_2", "image", ("wide_resnet",), _C,
          "bottleneck twice as wide"),
    Query("densenet_small", "convnets:DenseNet", "image", ("densenet",), _C,
          "growth 24, blocks 3-6-9-6"),
    Query("squeezenet_fire", "convnets:SqueezeNet", "image", ("squeezenet",), _C,
          "100 classes, 6 fire modules"),
    Query("convnext_mini", "convnets:ConvNeXt", "image", ("convnext",), _C,
          "2-2-4-2, 64 wide"),
    Query("unet", "convnets:UNet", "image", (), _C, "no U-Net in the zoo: coarse only"),
    Query("mobilenetv2_slim", "mobile:MobileNetV2", "image", ("mobilenetv2", "mobilenet_v2"), _C,
          "24-wide stem, 1024 head"),
    Query("mobilenetv3_mini", "mobile:MobileNetV3", "image", ("mobilenetv3",), _C,
          "8 blocks, hardswish + SE"),
    Query("efficientnet_lite", "mobile:efficientnet_lite", "image", ("efficientnet",), _C,
          "B0 plan with fewer repeats"),
    Query("efficientnetv2_tiny", "mobile:efficientnetv2_tiny", "image", ("efficientnetv2",), _C,
          "fused-MBConv then MBConv"),
    Query("mnasnet_small", "mobile:mnasnet_small", "image", ("mnasnet",), _C, "6 stages"),
    Query("shufflenetv2_mini", "mobile:ShuffleNetV2", "image", ("shufflenetv2",), _C,
          "chunk + cat + view/transpose shuffle"),
    Query("regnetx_300mf", "mobile:regnetx_300mf", "image", ("regnet", "regnetx"), _C,
          "1-2-4-4, group width 8"),
    Query("regnety_500mf", "mobile:regnety_500mf", "image", ("regnet", "regnety"), _C,
          "1-2-4-3, with squeeze-excite"),
    Query("vit_s16_depth6", "vision_transformers:vit_small_depth6", "image", _VIT, _V,
          "attention written out"),
    Query("vit_b32_sdpa_meanpool", "vision_transformers:vit_sdpa_meanpool", "image", _VIT, _V,
          "F.scaled_dot_product_attention, no class token"),
    Query("deit_tiny_distilled", "vision_transformers:deit_tiny_distilled", "image", ("deit",), _V,
          "class + distillation tokens, depth 8"),
    Query("swin_mini", "vision_transformers:Swin", "image", ("swin",), _V,
          "2-2-2-2, 64 wide, shifted windows"),
    Query("levit_one_stage", "vision_transformers:LeViT", "image", ("levit",), "hybrid",
          "one stage, attention bias"),
    Query("mixer_s16_depth6", "mlps:MLPMixer", "image", ("mixer",), _M, "depth 6"),
    Query("resmlp_8", "mlps:ResMLP", "image", ("resmlp",), _M, "depth 8, width 256"),
    Query("gmlp_tiny", "mlps:GMLP", "image", ("gmlp",), _M, "spatial gating, depth 10"),
    Query("bert_mini", "text:BERT", "tokens", ("bert",), "text-encoder", "4 layers, 256 wide"),
    Query("bert_nn_transformer", "text:TorchEncoderBERT", "tokens", ("bert",), "text-encoder",
          "nn.TransformerEncoder"),
    Query("gpt2_sdpa", "text:gpt2_sdpa", "tokens", ("gpt2",), "decoder-only",
          "SDPA is_causal, tied head"),
    Query("gpt2_mingpt", "text:gpt2_mingpt", "tokens", ("gpt2",), "decoder-only",
          "5 layers, tril mask buffer, tanh GELU written out"),
    Query("llama_gqa", "text:Llama", "tokens", ("llama",), "decoder-only",
          "4 layers, RMSNorm written out, RoPE, SwiGLU, 2 KV heads"),
    Query("t5_small3", "seq2seq:T5", "text2text", ("t5",), "encoder-decoder",
          "2+2 layers, relative buckets"),
    Query("whisper_mini", "seq2seq:Whisper", "speech", ("whisper",), "speech",
          "3+3 layers, SDPA"),
)  # fmt: skip


def _factory(q: Query) -> Callable[[], object]:
    import importlib

    module, _, name = q.factory.partition(":")
    return getattr(importlib.import_module(f"benches.rewrites.models.{module}"), name)


def example_inputs(q: Query, model: object) -> tuple:
    """The tensors ``q`` is traced with (see :data:`INPUT_KINDS`), zeros on ``model``'s
    device, built the way ``--inputs`` builds them on the command line."""
    from archmotif.frontends.user_model import make_inputs, parse_inputs

    return make_inputs(parse_inputs(INPUT_KINDS[q.inputs]), model)


def trace_queries(queries=QUERIES, *, normalize: bool | None = None) -> list:
    """Each query built on the meta device and traced, as an ``OpGraph`` named after it
    and labelled with its ``coarse`` class and its ``families`` (comma-joined).
    ``normalize`` goes to :func:`archmotif.trace` when it accepts the argument; when it
    does not, ``normalize=True`` raises, so a run never claims a normalisation it lacked."""
    import torch

    import archmotif

    kwargs = {}
    if normalize is not None:
        if "normalize" not in inspect.signature(archmotif.trace).parameters:
            if normalize:
                raise archmotif.InvalidArgument(
                    "this archmotif's trace() has no normalize= switch; run without it"
                )
        else:
            kwargs["normalize"] = normalize
    graphs = []
    for q in queries:
        with torch.device("meta"):
            model = _factory(q)()
        labels = {"coarse": q.coarse, "families": ",".join(q.families)}
        graphs.append(archmotif.trace(model, example_inputs(q, model), name=q.name, labels=labels,
                                      **kwargs))  # fmt: skip
    return graphs
