"""All-MLP vision models written by hand: MLP-Mixer (token- and channel-mixing MLPs),
ResMLP (affine normalisation, a linear layer across patches, layer scale) and gMLP
(spatial gating unit). Plain ``torch.nn`` only."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class MlpBlock(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class MixerLayer(nn.Module):
    def __init__(self, tokens, dim, token_hidden, channel_hidden):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.token_mix = MlpBlock(tokens, token_hidden)
        self.channel_mix = MlpBlock(dim, channel_hidden)

    def forward(self, x):
        y = self.ln1(x).transpose(1, 2)
        x = x + self.token_mix(y).transpose(1, 2)
        return x + self.channel_mix(self.ln2(x))


class MLPMixer(nn.Module):
    def __init__(self, img=224, patch=16, dim=384, depth=6, classes=1000):
        super().__init__()
        tokens = (img // patch) ** 2
        self.stem = nn.Conv2d(3, dim, patch, patch)
        self.layers = nn.Sequential(*[MixerLayer(tokens, dim, dim // 2, dim * 4)
                                      for _ in range(depth)])  # fmt: skip
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.stem(x).flatten(2).transpose(1, 2)
        x = self.norm(self.layers(x))
        return self.head(x.mean(dim=1))


class Affine(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(dim))
        self.beta = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return self.alpha * x + self.beta


class ResMLPLayer(nn.Module):
    def __init__(self, tokens, dim, init=0.1):
        super().__init__()
        self.pre_affine, self.post_affine = Affine(dim), Affine(dim)
        self.cross_patch = nn.Linear(tokens, tokens)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.ls1 = nn.Parameter(init * torch.ones(dim))
        self.ls2 = nn.Parameter(init * torch.ones(dim))

    def forward(self, x):
        y = self.cross_patch(self.pre_affine(x).transpose(1, 2)).transpose(1, 2)
        x = x + self.ls1 * y
        return x + self.ls2 * self.mlp(self.post_affine(x))


class ResMLP(nn.Module):
    def __init__(self, img=224, patch=16, dim=256, depth=8, classes=1000):
        super().__init__()
        tokens = (img // patch) ** 2
        self.patch = nn.Conv2d(3, dim, patch, patch)
        self.blocks = nn.ModuleList(ResMLPLayer(tokens, dim) for _ in range(depth))
        self.norm = Affine(dim)
        self.fc = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        for blk in self.blocks:
            x = blk(x)
        return self.fc(self.norm(x).mean(1))


class SpatialGatingUnit(nn.Module):
    def __init__(self, dim, tokens):
        super().__init__()
        self.norm = nn.LayerNorm(dim // 2)
        self.proj = nn.Conv1d(tokens, tokens, 1)

    def forward(self, x):
        u, v = x.chunk(2, dim=-1)
        return u * self.proj(self.norm(v))


class GMLPBlock(nn.Module):
    def __init__(self, dim, tokens, ffn=6):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, dim * ffn)
        self.sgu = SpatialGatingUnit(dim * ffn, tokens)
        self.fc2 = nn.Linear(dim * ffn // 2, dim)

    def forward(self, x):
        return x + self.fc2(self.sgu(F.gelu(self.fc1(self.norm(x)))))


class GMLP(nn.Module):
    def __init__(self, img=224, patch=16, dim=128, depth=10, classes=1000):
        super().__init__()
        tokens = (img // patch) ** 2
        self.stem = nn.Conv2d(3, dim, patch, patch)
        self.blocks = nn.Sequential(*[GMLPBlock(dim, tokens) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x).flatten(2).transpose(1, 2))
        return self.head(self.norm(x).mean(1))
