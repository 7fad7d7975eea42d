"""Efficient convolutional networks written by hand: MobileNetV2, MobileNetV3,
EfficientNet (v1 and v2), MnasNet, ShuffleNetV2 and RegNet (X and Y), with stage
plans and widths of our own. Plain ``torch.nn`` only, from the papers."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn(cin, cout, k=3, stride=1, groups=1, act=nn.ReLU6):
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]  # fmt: skip
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand, 3x3 depthwise, linear 1x1 projection."""

    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        hidden = cin * expand
        layers = [] if expand == 1 else [conv_bn(cin, hidden, 1)]
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden),
                   conv_bn(hidden, cout, 1, act=None)]  # fmt: skip
        self.block = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.block(x) if self.residual else self.block(x)


class MobileNetV2(nn.Module):
    def __init__(self, plan=((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 2, 2), (6, 64, 3, 2),
                             (6, 96, 2, 1), (6, 160, 2, 2), (6, 320, 1, 1)),
                 stem=24, last=1024, classes=1000):  # fmt: skip
        super().__init__()
        layers, c = [conv_bn(3, stem, 3, 2)], stem
        for t, ch, n, s in plan:
            for i in range(n):
                layers.append(InvertedResidual(c, ch, s if i == 0 else 1, t))
                c = ch
        layers.append(conv_bn(c, last, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, classes))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.mean([2, 3]))


class SqueezeExcite(nn.Module):
    def __init__(self, c, reduced, act=nn.ReLU, gate=nn.Hardsigmoid):
        super().__init__()
        self.fc1 = nn.Conv2d(c, reduced, 1)
        self.fc2 = nn.Conv2d(reduced, c, 1)
        self.act, self.gate = act(), gate()

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        return x * self.gate(self.fc2(self.act(self.fc1(s))))


class MBv3Block(nn.Module):
    def __init__(self, cin, k, exp, cout, se, act, stride):
        super().__init__()
        layers = [] if exp == cin else [conv_bn(cin, exp, 1, act=act)]
        layers.append(conv_bn(exp, exp, k, stride, groups=exp, act=act))
        if se:
            layers.append(SqueezeExcite(exp, max(8, exp // 4)))
        layers.append(conv_bn(exp, cout, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.use_res = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return y + x if self.use_res else y


class MobileNetV3(nn.Module):
    """Small-style MobileNetV3: hardswish, squeeze-excite with a hard sigmoid gate."""

    def __init__(self, classes=1000):
        super().__init__()
        RE, HS = nn.ReLU, nn.Hardswish
        plan = [  # k, exp, out, se, act, stride
            (3, 16, 16, True, RE, 2), (3, 64, 24, False, RE, 2), (3, 72, 24, False, RE, 1),
            (5, 96, 40, True, HS, 2), (5, 240, 40, True, HS, 1), (5, 120, 48, True, HS, 1),
            (5, 288, 96, True, HS, 2), (5, 576, 96, True, HS, 1),
        ]  # fmt: skip
        layers, c = [conv_bn(3, 16, 3, 2, act=HS)], 16
        for k, exp, out, se, act, s in plan:
            layers.append(MBv3Block(c, k, exp, out, se, act, s))
            c = out
        layers.append(conv_bn(c, 576, 1, act=HS))
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(576, 1024), nn.Hardswish(), nn.Dropout(0.2),
                                  nn.Linear(1024, classes))  # fmt: skip

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.head(torch.flatten(x, 1))


class MBConv(nn.Module):
    """EfficientNet's block: expand, depthwise, squeeze-excite (SiLU, sigmoid), project."""

    def __init__(self, cin, cout, k, stride, expand, fused=False):
        super().__init__()
        mid = cin * expand
        act = nn.SiLU
        if fused:  # EfficientNetV2's Fused-MBConv: one full 3x3 instead of 1x1 + depthwise
            layers = [conv_bn(cin, mid, k, stride, act=act)] if expand != 1 else []
            layers.append(
                conv_bn(
                    mid,
                    cout,
                    1 if expand != 1 else k,
                    stride if expand == 1 else 1,
                    act=None if expand != 1 else act,
                )
            )
        else:
            layers = [conv_bn(cin, mid, 1, act=act)] if expand != 1 else []
            layers += [conv_bn(mid, mid, k, stride, groups=mid, act=act),
                       SqueezeExcite(mid, max(1, cin // 4), nn.SiLU, nn.Sigmoid),
                       conv_bn(mid, cout, 1, act=None)]  # fmt: skip
        self.body = nn.Sequential(*layers)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.skip else self.body(x)


class EfficientNet(nn.Module):
    """``plan`` rows: (fused, expand, kernel, stride, out, repeats)."""

    def __init__(self, plan, stem=32, head=1280, classes=1000):
        super().__init__()
        layers, c = [conv_bn(3, stem, 3, 2, act=nn.SiLU)], stem
        for fused, e, k, s, out, n in plan:
            for i in range(n):
                layers.append(MBConv(c, out, k, s if i == 0 else 1, e, fused))
                c = out
        layers.append(conv_bn(c, head, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(head, classes))

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


def efficientnet_lite():
    return EfficientNet([(False, 1, 3, 1, 16, 1), (False, 6, 3, 2, 24, 2),
                         (False, 6, 5, 2, 40, 2), (False, 6, 3, 2, 80, 2),
                         (False, 6, 5, 1, 112, 2), (False, 6, 5, 2, 192, 3),
                         (False, 6, 3, 1, 320, 1)])  # fmt: skip


def efficientnetv2_tiny():
    return EfficientNet([(True, 1, 3, 1, 24, 1), (True, 4, 3, 2, 48, 2),
                         (True, 4, 3, 2, 64, 2), (False, 4, 3, 2, 128, 3),
                         (False, 6, 3, 1, 160, 4), (False, 6, 3, 2, 256, 5)],
                        stem=24)  # fmt: skip


def mnasnet_small():
    """MnasNet: MBConv stages without squeeze-excite, ReLU throughout."""

    class Block(nn.Module):
        def __init__(self, cin, cout, k, stride, expand):
            super().__init__()
            mid = cin * expand
            self.layers = nn.Sequential(
                nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False),
                nn.BatchNorm2d(mid), nn.ReLU(inplace=True),
                nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout),
            )  # fmt: skip
            self.res = cin == cout and stride == 1

        def forward(self, x):
            return self.layers(x) + x if self.res else self.layers(x)

    class MnasNet(nn.Module):
        def __init__(self):
            super().__init__()
            layers = [
                nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(True),
                nn.Conv2d(32, 32, 3, 1, 1, groups=32, bias=False), nn.BatchNorm2d(32),
                nn.ReLU(True), nn.Conv2d(32, 16, 1, bias=False), nn.BatchNorm2d(16),
            ]  # fmt: skip
            c = 16
            for out, k, s, e, n in [
                (24, 3, 2, 3, 2),
                (40, 5, 2, 3, 2),
                (80, 5, 2, 6, 2),
                (96, 3, 1, 6, 1),
                (192, 5, 2, 6, 3),
                (320, 3, 1, 6, 1),
            ]:
                for i in range(n):
                    layers.append(Block(c, out, k, s if i == 0 else 1, e))
                    c = out
            layers += [nn.Conv2d(c, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU(True)]
            self.layers = nn.Sequential(*layers)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))

        def forward(self, x):
            return self.classifier(self.layers(x).mean([2, 3]))

    return MnasNet()


def channel_shuffle(x, groups):
    b, c, h, w = x.shape
    x = x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(b, c, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.stride = stride
        half = cout // 2
        if stride > 1:
            self.left = nn.Sequential(
                nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
                nn.Conv2d(cin, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            )  # fmt: skip
        right_in = cin if stride > 1 else half
        self.right = nn.Sequential(
            nn.Conv2d(right_in, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, stride, 1, groups=half, bias=False), nn.BatchNorm2d(half),
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
        )  # fmt: skip

    def forward(self, x):
        if self.stride == 1:
            a, b = x.chunk(2, dim=1)
            out = torch.cat((a, self.right(b)), 1)
        else:
            out = torch.cat((self.left(x), self.right(x)), 1)
        return channel_shuffle(out, 2)


class ShuffleNetV2(nn.Module):
    def __init__(self, widths=(24, 96, 192, 384, 1024), repeats=(3, 5, 3), classes=1000):
        super().__init__()
        self.conv1 = conv_bn(3, widths[0], 3, 2, act=nn.ReLU)
        self.pool = nn.MaxPool2d(3, 2, 1)
        stages, c = [], widths[0]
        for out, n in zip(widths[1:4], repeats, strict=True):
            stages += [ShuffleUnit(c, out, 2)] + [ShuffleUnit(out, out, 1) for _ in range(n)]
            c = out
        self.stages = nn.Sequential(*stages)
        self.conv5 = conv_bn(c, widths[4], 1, act=nn.ReLU)
        self.fc = nn.Linear(widths[4], classes)

    def forward(self, x):
        x = self.conv5(self.stages(self.pool(self.conv1(x))))
        return self.fc(x.mean([2, 3]))


class RegNetBlock(nn.Module):
    """RegNet's X block (bottleneck ratio 1, grouped 3x3), Y adds squeeze-excite."""

    def __init__(self, cin, cout, stride, group_width, se):
        super().__init__()
        self.a = conv_bn(cin, cout, 1, act=nn.ReLU)
        self.b = conv_bn(cout, cout, 3, stride, groups=cout // group_width, act=nn.ReLU)
        self.se = SqueezeExcite(cout, cin // 4, nn.ReLU, nn.Sigmoid) if se else nn.Identity()
        self.c = conv_bn(cout, cout, 1, act=None)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = conv_bn(cin, cout, 1, stride, act=None)

    def forward(self, x):
        y = self.c(self.se(self.b(self.a(x))))
        return F.relu(y + (x if self.proj is None else self.proj(x)))


class RegNet(nn.Module):
    def __init__(self, depths, widths, group_width, se, classes=1000):
        super().__init__()
        self.stem = conv_bn(3, 32, 3, 2, act=nn.ReLU)
        blocks, c = [], 32
        for d, w in zip(depths, widths, strict=True):
            for i in range(d):
                blocks.append(RegNetBlock(c, w, 2 if i == 0 else 1, group_width, se))
                c = w
        self.trunk = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = self.trunk(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def regnetx_300mf():
    return RegNet((1, 2, 4, 4), (24, 56, 152, 368), 8, se=False)


def regnety_500mf():
    return RegNet((1, 2, 4, 3), (32, 64, 160, 384), 16, se=True)
