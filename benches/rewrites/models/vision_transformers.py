"""Vision transformers written by hand: ViT (attention spelled out, and through
``F.scaled_dot_product_attention``), DeiT (class and distillation tokens), Swin
(shifted windows with a relative position bias) and LeViT (convolutional stem,
attention with a learnt bias and BatchNorm'd linears). Plain ``torch.nn`` only."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    """Multi-head self-attention, softmax(QK^T / sqrt(d)) V written out."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(b, n, c)
        return self.proj(x)


class SDPAttention(nn.Module):
    """The same attention through torch's fused kernel, with separate q, k, v layers."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v = (nn.Linear(dim, dim) for _ in range(3))
        self.out = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = (
            f(x).view(b, n, self.heads, -1).transpose(1, 2) for f in (self.q, self.k, self.v)
        )
        y = F.scaled_dot_product_attention(q, k, v)
        return self.out(y.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(LN(x)), x + MLP(LN(x))."""

    def __init__(self, dim, heads, mlp_ratio=4.0, attention=Attention):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    """Patch embedding, learnt positions, optional class and distillation tokens."""

    def __init__(self, img=224, patch=16, dim=384, depth=6, heads=6, classes=1000,
                 attention=Attention, pool="cls", distill=False):  # fmt: skip
        super().__init__()
        self.patch_embed = nn.Conv2d(3, dim, patch, patch)
        n = (img // patch) ** 2
        self.pool, self.distill = pool, distill
        extra = 0 if pool == "mean" else 1 + int(distill)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.dist_token = nn.Parameter(torch.zeros(1, 1, dim)) if distill else None
        self.pos_embed = nn.Parameter(torch.zeros(1, n + extra, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, attention=attention) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)
        self.head_dist = nn.Linear(dim, classes) if distill else None

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        b = x.shape[0]
        if self.pool != "mean":
            tokens = [self.cls_token.expand(b, -1, -1)]
            if self.distill:
                tokens.append(self.dist_token.expand(b, -1, -1))
            x = torch.cat([*tokens, x], dim=1)
        x = x + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        x = self.norm(x)
        if self.pool == "mean":
            return self.head(x.mean(dim=1))
        if self.distill:
            return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
        return self.head(x[:, 0])


def vit_small_depth6():
    return ViT()


def vit_sdpa_meanpool():
    return ViT(img=224, patch=32, dim=512, depth=8, heads=8, attention=SDPAttention, pool="mean")


def deit_tiny_distilled():
    return ViT(dim=192, depth=8, heads=3, distill=True)


def window_partition(x, ws):
    b, h, w, c = x.shape
    x = x.view(b, h // ws, ws, w // ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, ws * ws, c)


def window_reverse(win, ws, h, w):
    c = win.shape[-1]
    x = win.view(-1, h // ws, w // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, h, w, c)


class WindowAttention(nn.Module):
    def __init__(self, dim, heads, ws):
        super().__init__()
        self.heads, self.ws, self.scale = heads, ws, (dim // heads) ** -0.5
        self.bias_table = nn.Parameter(torch.zeros((2 * ws - 1) ** 2, heads))
        coords = torch.stack(torch.meshgrid(torch.arange(ws), torch.arange(ws), indexing="ij"))
        coords = coords.flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (ws - 1)
        self.register_buffer("rel_index", rel[..., 0] * (2 * ws - 1) + rel[..., 1])
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, mask=None):
        bw, n, c = x.shape
        q, k, v = self.qkv(x).reshape(bw, n, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.bias_table[self.rel_index.view(-1)].view(n, n, -1).permute(2, 0, 1)
        attn = attn + bias.unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = attn.view(-1, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        attn = F.softmax(attn, dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(bw, n, c))


class SwinBlock(nn.Module):
    def __init__(self, dim, heads, res, ws=7, shift=0):
        super().__init__()
        self.res, self.ws, self.shift = res, ws, shift
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, ws)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        mask = None
        if shift:
            img = torch.zeros(1, res, res, 1)
            cnt = 0
            for hs in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                for wsl in (slice(0, -ws), slice(-ws, -shift), slice(-shift, None)):
                    img[:, hs, wsl, :] = cnt
                    cnt += 1
            win = window_partition(img, ws).squeeze(-1)
            mask = win.unsqueeze(1) - win.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
        self.register_buffer("attn_mask", mask)

    def forward(self, x):
        b, n, c = x.shape
        h = w = self.res
        y = self.norm1(x).view(b, h, w, c)
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        y = self.attn(window_partition(y, self.ws), self.attn_mask)
        y = window_reverse(y, self.ws, h, w)
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y.reshape(b, n, c)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim, res):
        super().__init__()
        self.res = res
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        b, _, c = x.shape
        x = x.view(b, self.res, self.res, c)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x.view(b, -1, 4 * c)))


class Swin(nn.Module):
    def __init__(self, depths=(2, 2, 2, 2), dim=64, heads=(2, 4, 8, 16), img=224, classes=1000):
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 4, 4)
        self.patch_norm = nn.LayerNorm(dim)
        res = img // 4
        layers = []
        for i, (d, h) in enumerate(zip(depths, heads, strict=True)):
            ws = min(7, res)
            layers += [SwinBlock(dim, h, res, ws, 0 if j % 2 == 0 or res <= ws else ws // 2)
                       for j in range(d)]  # fmt: skip
            if i < len(depths) - 1:
                layers.append(PatchMerging(dim, res))
                dim, res = dim * 2, res // 2
        self.layers = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_norm(self.patch(x).flatten(2).transpose(1, 2))
        x = self.norm(self.layers(x))
        return self.head(x.mean(1))


class LinearBN(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Linear(cin, cout, bias=False), nn.BatchNorm1d(cout))

    def forward(self, x):
        y = self[0](x)
        return self[1](y.flatten(0, 1)).reshape_as(y)


class LeViTAttention(nn.Module):
    def __init__(self, dim, heads, key_dim, res):
        super().__init__()
        self.heads, self.kd, self.scale = heads, key_dim, key_dim**-0.5
        self.vd = 2 * key_dim
        self.qkv = LinearBN(dim, heads * (2 * key_dim + self.vd))
        self.proj = nn.Sequential(nn.Hardswish(), LinearBN(heads * self.vd, dim))
        n = res * res
        self.attention_biases = nn.Parameter(torch.zeros(heads, n))
        pts = torch.stack(torch.meshgrid(torch.arange(res), torch.arange(res), indexing="ij"))
        pts = pts.flatten(1)
        rel = (pts[:, :, None] - pts[:, None, :]).abs()
        self.register_buffer("bias_idx", rel[0] * res + rel[1])

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.qkv(x).view(b, n, self.heads, -1).split([self.kd, self.kd, self.vd], 3)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        attn = q @ k.transpose(-2, -1) * self.scale + self.attention_biases[:, self.bias_idx]
        x = (attn.softmax(-1) @ v).transpose(1, 2).reshape(b, n, -1)
        return self.proj(x)


class LeViT(nn.Module):
    """A one-stage LeViT: four stride-2 convolutions, then attention and MLP blocks."""

    def __init__(self, dim=192, depth=4, heads=3, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, dim // 8, 3, 2, 1), nn.BatchNorm2d(dim // 8), nn.Hardswish(),
            nn.Conv2d(dim // 8, dim // 4, 3, 2, 1), nn.BatchNorm2d(dim // 4), nn.Hardswish(),
            nn.Conv2d(dim // 4, dim // 2, 3, 2, 1), nn.BatchNorm2d(dim // 2), nn.Hardswish(),
            nn.Conv2d(dim // 2, dim, 3, 2, 1), nn.BatchNorm2d(dim),
        )  # fmt: skip
        self.attn = nn.ModuleList(LeViTAttention(dim, heads, 16, 14) for _ in range(depth))
        self.mlp = nn.ModuleList(
            nn.Sequential(LinearBN(dim, 2 * dim), nn.Hardswish(), LinearBN(2 * dim, dim))
            for _ in range(depth)
        )
        self.head = nn.Sequential(nn.BatchNorm1d(dim), nn.Linear(dim, classes))

    def forward(self, x):
        x = self.stem(x).flatten(2).transpose(1, 2)
        for attn, mlp in zip(self.attn, self.mlp, strict=True):
            x = x + attn(x)
            x = x + mlp(x)
        return self.head(x.mean(1))
