"""Build models from code by name, on the meta device, with example inputs.

Names: ``"torchvision:resnet50"``, ``"timm:convnext_tiny"``,
``"transformers:bert"`` (a transformers ``model_type``). A bare name is looked
up in torchvision, then timm, then transformers. The few models whose
constructor reads tensor values (torchvision's RegNets) cannot be built on the
meta device; they are built on the CPU instead. Nothing is downloaded: every
model is built from its default configuration with random (or, on the meta
device, no) weights.

Example inputs are chosen by modality (:func:`example_inputs`): token ids for
text models (plus decoder ids for encoder-decoders), pixels at the model's
configured size for vision, log-mel features for Whisper-style audio models,
raw waveforms for wav2vec-style ones, ``(1, 3, 224, 224)`` otherwise.

A name may end in ``@key=value,key=value`` to change the model's configuration:
for transformers these set attributes of the default config
(``"transformers:bert@num_hidden_layers=4"``); for timm and torchvision they are
keyword arguments of the model's constructor (``"timm:vit_small_patch16_224@depth=6"``).
Values are parsed as JSON when they can be (numbers, ``true``, lists), else kept as
strings.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from archmotif.errors import TraceError

__all__ = ["SOURCES", "Built", "auto_class_for", "build", "example_inputs"]

SOURCES = ("torchvision", "timm", "transformers")
_SEQ_LEN = 16


@dataclass
class Built:
    """A model built by name, with the inputs to trace it and its labels."""

    module: Any
    name: str
    inputs: Any
    labels: dict[str, str] = field(default_factory=dict)


def _device_ctx(meta: bool) -> contextlib.AbstractContextManager[Any]:
    import torch

    return torch.device("meta") if meta else contextlib.nullcontext()


def _torchvision(name: str, meta: bool, overrides: dict[str, Any]) -> Built | None:
    import torchvision

    if name not in torchvision.models.list_models():
        return None
    kwargs: dict[str, Any] = {"weights": None, **overrides}
    if name in torchvision.models.list_models(module=torchvision.models.segmentation) or name in (
        torchvision.models.list_models(module=torchvision.models.detection)
    ):
        kwargs["weights_backbone"] = None
    import torch

    with _device_ctx(meta):
        m = torchvision.models.get_model(name, **kwargs)
    device = "meta" if meta else "cpu"
    inputs: Any = None
    if name in torchvision.models.list_models(module=torchvision.models.video):
        inputs = (torch.zeros(1, 3, 16, 112, 112, device=device),)
    elif name in torchvision.models.list_models(module=torchvision.models.optical_flow):
        inputs = tuple(torch.zeros(1, 3, 128, 128, device=device) for _ in range(2))
    return Built(m, name, inputs, {"source": "torchvision"})


def _timm(name: str, meta: bool, overrides: dict[str, Any]) -> Built | None:
    import timm

    if not timm.is_model(name):
        return None
    with _device_ctx(meta):
        m = timm.create_model(name, pretrained=False, **overrides)
    return Built(m, name, None, {"source": "timm"})


@functools.cache
def _auto_classes() -> tuple[tuple[Any, frozenset[str]], ...]:
    """``AutoModel`` then every ``AutoModelFor*``/``AutoBackbone`` class
    (alphabetically), each with the model types its mapping knows."""
    import transformers

    tasks = [a for a in dir(transformers) if a.startswith("AutoModelFor") or a == "AutoBackbone"]
    names = ["AutoModel", *sorted(tasks)]
    out = []
    for attr in names:
        try:
            cls = getattr(transformers, attr)
        except (ImportError, AttributeError):
            continue
        mapping = getattr(getattr(cls, "_model_mapping", None), "_model_mapping", None)
        if isinstance(mapping, Mapping):
            out.append((cls, frozenset(mapping)))
    return tuple(out)


def auto_class_for(model_type: str) -> Any | None:
    """The transformers ``AutoModel*`` class that builds ``model_type`` from its
    config: ``AutoModel`` (the bare model) when it can, else the first task class
    (alphabetically) whose mapping has the type; ``None`` when none has it."""
    for cls, types in _auto_classes():
        if model_type in types:
            return cls
    return None


def _transformers(model_type: str, meta: bool, overrides: dict[str, Any]) -> Built | None:
    import transformers

    try:
        cfg = transformers.AutoConfig.for_model(model_type)
    except ValueError:
        return None
    for key, value in overrides.items():
        if not hasattr(cfg, key):
            raise TraceError(f"transformers:{model_type}: its config has no attribute {key!r}")
        setattr(cfg, key, value)
    if hasattr(cfg, "use_cache"):
        cfg.use_cache = False
    auto = auto_class_for(model_type)
    if auto is None:
        raise TraceError(f"transformers:{model_type}: no AutoModel* class builds this config")
    with _device_ctx(meta):
        m = auto.from_config(cfg)
    labels = {"source": "transformers", "family": model_type, "auto_class": auto.__name__}
    return Built(m, model_type, None, labels)


_BUILDERS = {"torchvision": _torchvision, "timm": _timm, "transformers": _transformers}


def _names(source: str) -> list[str]:
    """Every model name ``source`` builds (empty when it is not installed)."""
    try:
        if source == "torchvision":
            import torchvision

            return list(torchvision.models.list_models())
        if source == "timm":
            import timm

            return list(timm.list_models())
        from transformers import CONFIG_MAPPING

        return list(CONFIG_MAPPING.keys())
    except ImportError:
        return []


def close_names(name: str, sources: Sequence[str] = SOURCES, n: int = 3) -> list[str]:
    """Up to ``n`` model names of ``sources`` closest to ``name`` (a typo's likely
    intent), qualified with their source when more than one source was searched."""
    pool = {m: s for s in reversed(sources) for m in _names(s)}  # first source wins
    hits = difflib.get_close_matches(name.lower(), list(pool), n=n, cutoff=0.75)
    return [h if len(sources) == 1 else f"{pool[h]}:{h}" for h in hits]


def _overrides(spec: str, text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key.isidentifier():
            raise TraceError(f"could not build {spec}: {item!r} is not key=value")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def build(spec: str, *, meta: bool = True) -> Built:
    """Builds the model ``spec`` names (see the module docstring)."""
    base, _, options = spec.partition("@")
    overrides = _overrides(spec, options)
    source, _, name = base.rpartition(":")
    if source and source not in _BUILDERS:
        if not name and source.endswith(".py"):  # "mynet.py:" with the name left out
            raise TraceError(f"could not build {spec}: name the model after the colon, "
                             f"as {source}:NAME")  # fmt: skip
        raise TraceError(
            f"could not build {spec}: unknown source {source!r} (use one of {', '.join(SOURCES)})"
        )
    sources = [source] if source else list(SOURCES)
    errors = []
    for s in sources:
        try:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # library chatter, not the user's concern
                    built = _BUILDERS[s](name, meta, overrides)
            except NotImplementedError as e:
                # A few constructors read tensor values while building (torchvision's
                # RegNet does), which the meta device cannot give: build those for real.
                if not meta or "meta" not in str(e):
                    raise
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    built = _BUILDERS[s](name, False, overrides)
        except TraceError:
            raise
        except ImportError as e:
            if e.name and e.name.split(".")[0] == s:
                errors.append(f"{s} is not installed")
                continue
            raise TraceError(f"could not build {spec} with {s}: needs {e.name or e}") from e
        except Exception as e:
            raise TraceError(f"could not build {spec} with {s}: {type(e).__name__}: {e}") from e
        if built is not None:
            if built.inputs is None:
                built.inputs = example_inputs(built.module)
            if options:
                built.name = f"{built.name}@{options}"
            return built
    detail = "; ".join(errors) if errors else f"no model of that name in {', '.join(sources)}"
    near = close_names(name, sources) if not errors else []
    if near:
        detail += f" (did you mean {', '.join(near)}?)"
    raise TraceError(f"could not build {spec}: {detail}")


def _model_device(model: Any) -> Any:
    import torch

    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return torch.device("cpu")


def _pixels(cfg: Any, device: Any) -> Any:
    import torch

    vision = getattr(cfg, "vision_config", None) or cfg
    size = getattr(vision, "image_size", 224)
    size = size[0] if isinstance(size, (list, tuple)) else size
    ch = getattr(vision, "num_channels", 3)
    return torch.zeros(1, ch, size, size, device=device)


def _transformers_inputs(model: Any, device: Any) -> dict[str, Any]:
    import torch

    cfg = model.config
    main = getattr(model, "main_input_name", "input_ids")
    # Vision-language models (CLIP-like) take both token ids and pixels.
    multimodal = getattr(cfg, "vision_config", None) is not None and (
        getattr(cfg, "text_config", None) is not None
    )
    if main == "pixel_values":
        inputs = {"pixel_values": _pixels(cfg, device)}
        if multimodal:
            inputs["input_ids"] = torch.ones(1, _SEQ_LEN, dtype=torch.long, device=device)
        return inputs
    if main == "input_features":
        mels = getattr(cfg, "num_mel_bins", None) or getattr(cfg, "input_feat_per_channel", 80)
        if hasattr(cfg, "max_source_positions") and hasattr(cfg, "num_mel_bins"):
            frames = 2 * cfg.max_source_positions  # Whisper: two conv strides of 1 and 2
            feats = torch.zeros(1, mels, frames, device=device)
        else:
            feats = torch.zeros(1, 64, mels * getattr(cfg, "input_channels", 1), device=device)
        inputs = {"input_features": feats}
        if getattr(cfg, "is_encoder_decoder", False):
            inputs["decoder_input_ids"] = torch.zeros(1, 4, dtype=torch.long, device=device)
        return inputs
    if main == "input_values":
        return {"input_values": torch.zeros(1, 16000, device=device)}
    inputs = {"input_ids": torch.ones(1, _SEQ_LEN, dtype=torch.long, device=device)}
    if getattr(cfg, "is_encoder_decoder", False):
        inputs["decoder_input_ids"] = torch.ones(1, _SEQ_LEN, dtype=torch.long, device=device)
    if multimodal:
        inputs["pixel_values"] = _pixels(cfg, device)
    return inputs


def example_inputs(model: Any) -> Any:
    """Example inputs for ``model`` by modality, on the model's device."""
    import torch

    device = _model_device(model)
    if hasattr(model, "config") and hasattr(model, "main_input_name"):
        return _transformers_inputs(model, device)
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None)
    if isinstance(cfg, dict) and "input_size" in cfg:
        return (torch.zeros(1, *cfg["input_size"], device=device),)
    return (torch.zeros(1, 3, 224, 224, device=device),)
