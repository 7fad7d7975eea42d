"""Distilling the motif bag's neighbourhoods into the learnt half (``distill``)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from archmotif.datasets import load
from archmotif.learn.encoder import Encoder
from archmotif.learn.motif_bag import MotifBag
from archmotif.learn.stages import bag_neighbours
from archmotif.learn.train import relational_kd


def test_relational_kd_is_zero_when_the_student_ranks_as_the_teacher_and_pulls_towards_it():
    gen = torch.Generator().manual_seed(0)
    t = F.normalize(torch.randn(6, 16, generator=gen), dim=1)
    teacher = t @ t.T
    assert relational_kd(t, t, teacher, 0.2).abs().item() < 1e-5
    # a student that ranks otherwise loses; descending the loss brings it to the teacher
    z = t[[1, 0, 3, 2, 5, 4]].clone().requires_grad_(True)
    before = relational_kd(z, z, teacher, 0.2).item()
    assert before > 0.1
    opt = torch.optim.SGD([z], lr=0.1)
    for _ in range(100):
        opt.zero_grad()
        relational_kd(z, z, teacher, 0.2).backward()
        opt.step()
    assert relational_kd(z, z, teacher, 0.2).item() < before / 4


def test_bag_neighbours_without_classes_are_the_nearest_other_graphs():
    bag = np.array([[1, 0], [0.9, 0.1], [0.8, 0.6], [0, 1]], dtype=np.float64)
    bag /= np.linalg.norm(bag, axis=1, keepdims=True)
    got = bag_neighbours(bag, 2)
    assert [g.tolist() for g in got] == [[1, 2], [0, 2], [1, 0], [2, 1]]


def _top5_agreement(z: np.ndarray, b: np.ndarray) -> float:
    """The mean share of each graph's 5 nearest graphs by ``z`` that are among its 5
    nearest by ``b`` (both unit rows)."""
    pairs = zip(bag_neighbours(z, 5), bag_neighbours(b, 5), strict=True)
    return float(np.mean([len(set(x) & set(y)) / 5 for x, y in pairs]))


def test_distilling_makes_the_learnt_half_keep_the_bags_neighbours():
    graphs = load("builtin")
    bag = MotifBag().fit(graphs).embed(graphs)
    kw = {"stage1_epochs": 2, "stage2_epochs": 10, "bag_weight": 0.0, "progress": False}
    # a short fit moves little at weight 1, so the test distils harder (weight 3) and
    # averages two seeds; measured 0.58 / 0.61 without, 0.67 / 0.69 with (the learnt
    # half alone, 98 graphs)
    gains = [
        _top5_agreement(Encoder(distill=3.0, **kw).fit(graphs, seed=s).embed(graphs), bag)
        - _top5_agreement(Encoder(**kw).fit(graphs, seed=s).embed(graphs), bag)
        for s in (0, 1)
    ]
    assert np.mean(gains) > 0.05
