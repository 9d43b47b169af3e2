#!/usr/bin/python3
"""PyTorch reference for `npm run bench -- engine`: the same training steps as bench/engine.ts.

Run with Debian's python3-torch (/usr/bin/python3). Prints one JSON object on its last line:
{"lenet5_b256": ms, "dafl_generator_b256": ms, "student_kd_b256": ms, "resnet18_b64": ms, "meta": {...}}
(median milliseconds per step after warm-up; a workload left out with --only is absent).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class LeNet5(nn.Module):
    """DAFL's lenet.py LeNet-5 (half=True: 3-8-60-42)."""

    def __init__(self, half=False, num_classes=10):
        super().__init__()
        c1, c2, c3, fc = (3, 8, 60, 42) if half else (6, 16, 120, 84)
        self.conv1 = nn.Conv2d(1, c1, 5)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.conv3 = nn.Conv2d(c2, c3, 5)
        self.fc1 = nn.Linear(c3, fc)
        self.fc2 = nn.Linear(fc, num_classes)

    def forward(self, x, out_feature=False):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        feature = F.relu(self.conv3(x)).flatten(1)
        out = self.fc2(F.relu(self.fc1(feature)))
        return (out, feature) if out_feature else out


class DaflGenerator(nn.Module):
    """DAFL's generator (methods.md), 32x32xC output."""

    def __init__(self, latent=100, channels=1, img_size=32):
        super().__init__()
        self.init_size = img_size // 4
        self.l1 = nn.Linear(latent, 128 * self.init_size ** 2)
        self.bn0 = nn.BatchNorm2d(128)
        self.conv1 = nn.Conv2d(128, 128, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(128, 0.8)
        self.conv2 = nn.Conv2d(128, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64, 0.8)
        self.conv3 = nn.Conv2d(64, channels, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(channels, affine=False)

    def forward(self, z):
        x = self.l1(z).view(z.shape[0], 128, self.init_size, self.init_size)
        x = self.bn0(x)
        x = F.interpolate(x, scale_factor=2)
        x = F.leaky_relu(self.bn1(self.conv1(x)), 0.2)
        x = F.interpolate(x, scale_factor=2)
        x = F.leaky_relu(self.bn2(self.conv2(x)), 0.2)
        return self.bn3(torch.tanh(self.conv3(x)))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """CIFAR ResNet-18 (3x3 stem, no max-pool)."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, cin = [], 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(512, num_classes)

    def forward(self, x):
        out = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def kd_loss(t_logits, s_logits, tau):
    """KL(softmax(T/τ) || softmax(S/τ)) · τ², summed over classes, averaged over the batch."""
    p = F.softmax(t_logits / tau, dim=1)
    return (p * (F.log_softmax(t_logits / tau, dim=1) - F.log_softmax(s_logits / tau, dim=1))).sum(1).mean() * tau * tau


def supervised_step(model, batch, channels):
    """One cross-entropy training step (Adam 1e-3) on a fixed random batch of 32×32 images."""
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.randn(batch, channels, 32, 32)
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def lenet5_step():
    return supervised_step(LeNet5(), 256, 1)


def dafl_generator_step():
    g = DaflGenerator()
    teacher = LeNet5().eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(g.parameters(), 1e-3)

    def step():
        z = torch.randn(256, 100)
        opt.zero_grad()
        logits, features = teacher(g(z), out_feature=True)
        pred = logits.argmax(1)
        oh = F.cross_entropy(logits, pred)
        pbar = F.softmax(logits, dim=1).mean(0)
        ie = (pbar * torch.log10(pbar)).sum()
        a = -features.abs().mean()
        loss = oh * 1 + ie * 5 + a * 0.1
        loss.backward()
        opt.step()
        return loss.item()

    return step


def student_kd_step():
    g = DaflGenerator().eval()
    teacher = LeNet5().eval()
    student = LeNet5(half=True)
    for p in list(g.parameters()) + list(teacher.parameters()):
        p.requires_grad_(False)
    opt = torch.optim.Adam(student.parameters(), 2e-3)

    def step():
        z = torch.randn(256, 100)
        with torch.no_grad():
            x = g(z)
            t = teacher(x)
        opt.zero_grad()
        loss = kd_loss(t, student(x), 10.0)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def resnet18_step():
    return supervised_step(ResNet18(), 64, 3)


WORKLOADS = {
    "lenet5_b256": lenet5_step,
    "dafl_generator_b256": dafl_generator_step,
    "student_kd_b256": student_kd_step,
    "resnet18_b64": resnet18_step,
}


def blas_loaded():
    """The BLAS libraries actually mapped (Debian's torch links the generic libblas.so.3, which the
    alternatives system points at OpenBLAS, BLIS or the reference BLAS), e.g. openblas-pthread/libblas.so.3."""
    try:
        with open("/proc/self/maps", encoding="utf8") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
        return sorted({"/".join(p.split("/")[-2:]) for p in paths if "blas" in p or "blis" in p or "mkl" in p}) or None
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--only", default=",".join(WORKLOADS))
    args = ap.parse_args()
    torch.manual_seed(0)
    threads = int(os.environ.get("BENCH_TORCH_THREADS", 0)) or os.cpu_count() or 1
    torch.set_num_threads(threads)
    result = {}
    for name in args.only.split(","):
        step = WORKLOADS[name]()
        for _ in range(args.warmup):
            step()
        times = []
        for _ in range(args.steps):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1000)
        result[name] = round(statistics.median(times), 2)
        print(f"torch {name}: median {result[name]} ms over {args.steps} steps", file=sys.stderr)
    blas = "unknown"
    try:
        cfg = torch.__config__.show()
        blas = cfg.split("BLAS_INFO=")[1].split(",")[0] if "BLAS_INFO=" in cfg else blas
    except Exception:  # noqa: BLE001 - informational only
        pass
    result["meta"] = {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas_info": blas, "blas_loaded": blas_loaded(), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
