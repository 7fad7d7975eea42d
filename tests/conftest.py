"""Shared fixtures: small hand-made graphs and a temporary directory helper."""

from __future__ import annotations

import pytest

import archmotif
from archmotif import synthetic


@pytest.fixture
def diamond() -> archmotif.OpGraph:
    """input -> conv, input -> relu, conv -> add, relu -> add."""
    return archmotif.OpGraph(
        ["input", "conv", "relu", "add"],
        [[0, 0, 1, 2], [1, 2, 3, 3]],
        name="diamond",
        labels={"family": "toy"},
    )


@pytest.fixture(scope="session")
def interchangeable() -> dict[str, archmotif.OpGraph]:
    """See :func:`archmotif.synthetic.interchangeable`."""
    return synthetic.interchangeable()
