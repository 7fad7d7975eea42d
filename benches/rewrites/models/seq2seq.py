"""Encoder-decoder models written by hand: T5 (relative position buckets, scale-only
RMS layer norm, ReLU feed-forward, no biases) and Whisper (log-mel input through two
1-D convolutions, sinusoidal positions, pre-norm encoder, causal decoder with
cross-attention and a tied output head). Plain ``torch.nn`` only."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class T5LayerNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


def relative_bucket(rel, bidirectional, buckets=32, max_distance=128):
    out = torch.zeros_like(rel)
    if bidirectional:
        buckets //= 2
        out = out + (rel > 0).long() * buckets
        rel = rel.abs()
    else:
        rel = -torch.clamp(rel, max=0)
    exact = buckets // 2
    large = exact + (torch.log(rel.float() / exact + 1e-6) / math.log(max_distance / exact)
                     * (buckets - exact)).long()  # fmt: skip
    large = torch.clamp(large, max=buckets - 1)
    return out + torch.where(rel < exact, rel, large)


class T5Attention(nn.Module):
    def __init__(self, dim, heads, bias=False, bidirectional=True):
        super().__init__()
        self.heads, self.bidirectional = heads, bidirectional
        self.q, self.k = nn.Linear(dim, dim, bias=False), nn.Linear(dim, dim, bias=False)
        self.v, self.o = nn.Linear(dim, dim, bias=False), nn.Linear(dim, dim, bias=False)
        self.rel_bias = nn.Embedding(32, heads) if bias else None

    def position_bias(self, tq, tk, device):
        ctx = torch.arange(tq, device=device)[:, None]
        mem = torch.arange(tk, device=device)[None, :]
        buckets = relative_bucket(mem - ctx, self.bidirectional)
        return self.rel_bias(buckets).permute(2, 0, 1).unsqueeze(0)

    def forward(self, x, kv=None, bias=None, causal=False):
        b, tq, d = x.shape
        kv = x if kv is None else kv
        tk = kv.shape[1]
        q = self.q(x).view(b, tq, self.heads, -1).transpose(1, 2)
        k = self.k(kv).view(b, tk, self.heads, -1).transpose(1, 2)
        v = self.v(kv).view(b, tk, self.heads, -1).transpose(1, 2)
        scores = q @ k.transpose(3, 2)  # T5 does not scale by sqrt(d)
        if bias is None and self.rel_bias is not None:
            bias = self.position_bias(tq, tk, x.device)
        if causal:
            mask = torch.triu(torch.full((tq, tk), float("-inf"), device=x.device), 1)
            bias = mask if bias is None else bias + mask
        if bias is not None:
            scores = scores + bias
        w = F.softmax(scores.float(), dim=-1).type_as(scores)
        return self.o((w @ v).transpose(1, 2).reshape(b, tq, d)), bias


class T5Block(nn.Module):
    def __init__(self, dim, heads, ffn, has_bias, decoder):
        super().__init__()
        self.decoder = decoder
        self.ln_sa, self.ln_ff = T5LayerNorm(dim), T5LayerNorm(dim)
        self.sa = T5Attention(dim, heads, has_bias, bidirectional=not decoder)
        if decoder:
            self.ln_ca = T5LayerNorm(dim)
            self.ca = T5Attention(dim, heads)
        self.wi, self.wo = nn.Linear(dim, ffn, bias=False), nn.Linear(ffn, dim, bias=False)

    def forward(self, x, bias=None, enc=None):
        h, bias = self.sa(self.ln_sa(x), bias=bias, causal=self.decoder)
        x = x + h
        if self.decoder:
            x = x + self.ca(self.ln_ca(x), kv=enc)[0]
        return x + self.wo(F.relu(self.wi(self.ln_ff(x)))), bias


class T5(nn.Module):
    def __init__(self, vocab=32128, dim=256, layers=2, heads=4, ffn=1024):
        super().__init__()
        self.shared = nn.Embedding(vocab, dim)
        self.encoder = nn.ModuleList(T5Block(dim, heads, ffn, i == 0, False) for i in range(layers))
        self.decoder = nn.ModuleList(T5Block(dim, heads, ffn, i == 0, True) for i in range(layers))
        self.enc_norm, self.dec_norm = T5LayerNorm(dim), T5LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)

    def forward(self, input_ids, decoder_input_ids):
        x, bias = self.shared(input_ids), None
        for blk in self.encoder:
            x, bias = blk(x, bias)
        enc = self.enc_norm(x)
        y, bias = self.shared(decoder_input_ids), None
        for blk in self.decoder:
            y, bias = blk(y, bias, enc)
        return self.lm_head(self.dec_norm(y))


class MultiHeadAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim, bias=False)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def forward(self, x, xa=None, causal=False):
        src = x if xa is None else xa
        b, t, _ = x.shape
        q = self.query(x).view(b, t, self.heads, -1).transpose(1, 2)
        k = self.key(src).view(b, src.shape[1], self.heads, -1).transpose(1, 2)
        v = self.value(src).view(b, src.shape[1], self.heads, -1).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        return self.out(y.transpose(1, 2).flatten(2))


class ResidualAttentionBlock(nn.Module):
    def __init__(self, dim, heads, cross=False):
        super().__init__()
        self.attn, self.attn_ln = MultiHeadAttention(dim, heads), nn.LayerNorm(dim)
        self.cross = MultiHeadAttention(dim, heads) if cross else None
        self.cross_ln = nn.LayerNorm(dim) if cross else None
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.mlp_ln = nn.LayerNorm(dim)

    def forward(self, x, xa=None, causal=False):
        x = x + self.attn(self.attn_ln(x), causal=causal)
        if self.cross is not None:
            x = x + self.cross(self.cross_ln(x), xa)
        return x + self.mlp(self.mlp_ln(x))


def sinusoids(length, channels, max_timescale=10000):
    inc = math.log(max_timescale) / (channels // 2 - 1)
    inv = torch.exp(-inc * torch.arange(channels // 2))
    t = torch.arange(length)[:, None] * inv[None, :]
    return torch.cat([torch.sin(t), torch.cos(t)], dim=1)


class Whisper(nn.Module):
    def __init__(self, n_mels=80, frames=400, dim=256, heads=4, enc_layers=3, dec_layers=3,
                 vocab=51865, ctx=64):  # fmt: skip
        super().__init__()
        self.conv1 = nn.Conv1d(n_mels, dim, 3, padding=1)
        self.conv2 = nn.Conv1d(dim, dim, 3, stride=2, padding=1)
        self.register_buffer("positional_embedding", sinusoids(frames // 2, dim))
        self.enc = nn.ModuleList(ResidualAttentionBlock(dim, heads) for _ in range(enc_layers))
        self.ln_post = nn.LayerNorm(dim)
        self.token_embedding = nn.Embedding(vocab, dim)
        self.dec_pos = nn.Parameter(torch.empty(ctx, dim))
        self.dec = nn.ModuleList(
            ResidualAttentionBlock(dim, heads, True) for _ in range(dec_layers)
        )
        self.ln = nn.LayerNorm(dim)

    def forward(self, mel, tokens):
        x = F.gelu(self.conv1(mel))
        x = F.gelu(self.conv2(x)).permute(0, 2, 1)
        x = x + self.positional_embedding
        for blk in self.enc:
            x = blk(x)
        xa = self.ln_post(x)
        y = self.token_embedding(tokens) + self.dec_pos[: tokens.shape[-1]]
        for blk in self.dec:
            y = blk(y, xa, causal=True)
        return self.ln(y) @ self.token_embedding.weight.t()
