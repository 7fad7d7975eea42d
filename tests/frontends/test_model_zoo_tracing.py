"""trace() over the model zoos the foundation promises.

The default run traces a sample across families; ``-m slow`` traces every
torchvision classification model and an evenly spaced sample of 60 timm models.
"""

from __future__ import annotations

import pytest

import archmotif

torchvision = pytest.importorskip("torchvision")
timm = pytest.importorskip("timm")

_TV_ALL = torchvision.models.list_models(module=torchvision.models)
_TV_SAMPLE = [
    "alexnet", "densenet121", "efficientnet_b0", "googlenet", "mnasnet0_5",
    "mobilenet_v2", "regnet_x_400mf", "shufflenet_v2_x0_5", "squeezenet1_0",
    "swin_t", "vgg11", "wide_resnet50_2",
]  # fmt: skip
_TIMM_ALL = timm.list_models()
_TIMM_SAMPLE_SLOW = _TIMM_ALL[:: max(1, len(_TIMM_ALL) // 60)][:60]
_TIMM_SAMPLE = [
    "resnet18",
    "efficientnet_b0",
    "deit_tiny_patch16_224",
    "mixer_b16_224",
    "coat_lite_tiny",
    "levit_128",
]


def _check(spec: str) -> None:
    g = archmotif.trace(spec)
    assert g.num_nodes >= 10, g
    assert g.op_counts()["input"] >= 1
    assert g.num_edges >= g.num_nodes - g.op_counts()["input"] - 5  # connected-ish DAG


@pytest.mark.parametrize("name", _TV_SAMPLE)
def test_torchvision_sample(name):
    _check(f"torchvision:{name}")


@pytest.mark.parametrize("name", _TIMM_SAMPLE)
def test_timm_sample(name):
    _check(f"timm:{name}")


@pytest.mark.slow
@pytest.mark.parametrize("name", _TV_ALL)
def test_every_torchvision_classification_model(name):
    _check(f"torchvision:{name}")


@pytest.mark.slow
@pytest.mark.parametrize("name", _TIMM_SAMPLE_SLOW)
def test_timm_sample_of_sixty(name):
    _check(f"timm:{name}")
