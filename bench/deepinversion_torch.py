#!/usr/bin/python3
"""DeepInversion's synthesis loop (NVlabs/DeepInversion, cifar10/deepinversion_cifar10.py, as
methods.md gives it) and the KD student phase, in PyTorch, on Distillery's bundled LeNet5 teacher:
the curve that Distillery's DeepInversion runs are compared with.

    /usr/bin/python3 bench/deepinversion_torch.py [--batches 16] [--iterations 1000] [--batch 256]
        [--lr 0.05] [--tv 2.5e-5] [--jitter 2] [--keep best|last] [--student-epochs 200]
        [--student-lr 2e-3] [--tau 3] [--eval-every 25] [--seed 1] [--threads N]

Per batch: x ~ N(0, 1) [B, 1, 32, 32], y = [0..9] repeated, a fresh Adam(lr, betas 0.9/0.999) on x;
per iteration: x_j = torch.roll(x, (dy, dx)) with dy, dx uniform in {−jitter..jitter};
L = CE(T(x_j), y) + tv · (‖Δ_W‖₂ + ‖Δ_H‖₂ + ‖Δ_diag‖₂ + ‖Δ_antidiag‖₂) (the script's l2 image
prior; the bundled LeNet5 has no BatchNorm, so no r_feat term, as Distillery's 'auto' variant);
keep 'best': a copy of x before the step with the lowest L (what the script means by best_inputs),
'last': the last iterate (what its `inputs.data` alias actually returns).
Student (LeNet5-half, PyTorch's default initialisation): Adam(student_lr), per epoch a shuffled
pass over the pool in minibatches of --batch, KL(softmax(T/τ) ‖ softmax(S/τ)) batch mean × τ².

--pool-from RUN trains the student on a Distillery run's pool instead (separates the synthesis from
the student phase when the two implementations disagree).

Prints one JSON line per evaluation ({"epoch", "iteration", "testAccuracy", "kd", "seconds"}), one per finished
batch ({"batch", "bestCost", "seconds"}) and a last line with the teacher's test accuracy.
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from dafl_torch import accuracy, frozen_teacher_and_test_set, parse_with_seed_and_threads
from engine_torch import LeNet5


def total_variation(x):
    """The script's get_image_prior_losses l2 part: the four shifted differences' L2 norms."""
    d1 = x[:, :, :, :-1] - x[:, :, :, 1:]
    d2 = x[:, :, :-1, :] - x[:, :, 1:, :]
    d3 = x[:, :, 1:, :-1] - x[:, :, :-1, 1:]
    d4 = x[:, :, :-1, :-1] - x[:, :, 1:, 1:]
    return torch.norm(d1) + torch.norm(d2) + torch.norm(d3) + torch.norm(d4)


def synthesise_batch(teacher, args):
    x = torch.randn(args.batch, 1, 32, 32, requires_grad=True)
    y = torch.arange(args.batch) % 10
    opt = torch.optim.Adam([x], lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    best_cost, best = float("inf"), None
    for _ in range(args.iterations):
        dy, dx = (int(v) for v in torch.randint(-args.jitter, args.jitter + 1, (2,)))
        xj = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        opt.zero_grad()
        loss = F.cross_entropy(teacher(xj), y) + args.tv * total_variation(xj)
        if args.keep == "best" and loss.item() < best_cost:
            best_cost, best = loss.item(), x.detach().clone()
        loss.backward()
        opt.step()
    if args.keep == "last":
        best_cost, best = loss.item(), x.detach().clone()
    return best, best_cost


def load_run_pool(run_dir, method="deepinversion"):
    """The finished batches a Distillery DeepInversion / ZSKD run wrote (raw float32 NHWC [B, 32, 32, 1]), as NCHW."""
    folder = os.path.join(run_dir, "pool")
    files = sorted(f for f in os.listdir(folder) if f.startswith(f"{method}-") and f.endswith(".f32"))
    if not files:
        raise SystemExit(f"no pool/{method}-*.f32 in {run_dir}")
    x = np.concatenate([np.fromfile(os.path.join(folder, f), dtype="<f4") for f in files]).reshape(-1, 32, 32, 1)
    return torch.from_numpy(x.transpose(0, 3, 1, 2).copy())


def kd_student(pool, pool_logits, epochs, batch, lr, tau, eval_every, x_test, y_test, started):
    """LeNet5-half (PyTorch's default initialisation) trained by KD (× τ²) on a fixed pool: Adam,
    per epoch a shuffled pass in minibatches; prints the test accuracy every eval_every epochs, with
    "iteration" = student steps done (the step axis of `run-curves --x steps`)."""
    student = LeNet5(half=True)
    steps_per_epoch = -(-len(pool) // batch)
    opt_s = torch.optim.Adam(student.parameters(), lr)
    for epoch in range(1, epochs + 1):
        order = torch.randperm(len(pool))
        for i in range(0, len(pool), batch):
            idx = order[i:i + batch]
            opt_s.zero_grad()
            log_p = F.log_softmax(student(pool[idx]) / tau, dim=1)
            q = F.softmax(pool_logits[idx] / tau, dim=1)
            kd = F.kl_div(log_p, q, reduction="batchmean") * tau * tau
            kd.backward()
            opt_s.step()
        if epoch % eval_every == 0 or epoch == epochs:
            print(json.dumps({"epoch": epoch, "iteration": epoch * steps_per_epoch, "testAccuracy": accuracy(student, x_test, y_test), "kd": round(kd.item(), 4), "seconds": round(time.time() - started, 1)}), flush=True)
    return student


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=16)
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--tv", type=float, default=2.5e-5)
    ap.add_argument("--jitter", type=int, default=2)
    ap.add_argument("--keep", choices=("best", "last"), default="best")
    ap.add_argument("--student-epochs", type=int, default=200)
    ap.add_argument("--student-lr", type=float, default=2e-3)
    ap.add_argument("--tau", type=float, default=3.0)
    ap.add_argument("--eval-every", type=int, default=25, help="student epochs between evaluations")
    ap.add_argument("--pool-from", help="a Distillery DeepInversion run folder: train the student on its pool (pool/*.f32, NHWC) instead of synthesising one")
    args = parse_with_seed_and_threads(ap)
    teacher, x_test, y_test = frozen_teacher_and_test_set(args)
    started = time.time()
    if args.pool_from:
        pool = [load_run_pool(args.pool_from)]
    else:
        pool = []
        for b in range(args.batches):
            images, cost = synthesise_batch(teacher, args)
            pool.append(images)
            print(json.dumps({"batch": b + 1, "bestCost": round(cost, 5), "seconds": round(time.time() - started, 1)}), flush=True)
    pool = torch.cat(pool)
    with torch.no_grad():
        pool_logits = teacher(pool)
    synthesis_seconds = time.time() - started

    kd_student(pool, pool_logits, args.student_epochs, args.batch, args.student_lr, args.tau, args.eval_every, x_test, y_test, started)
    print(json.dumps({
        "teacherTestAccuracy": accuracy(teacher, x_test, y_test), "batches": args.batches, "iterations": args.iterations,
        "batch": args.batch, "keep": args.keep, "seed": args.seed, "threads": args.threads, "torch": torch.__version__,
        "synthesisSeconds": round(synthesis_seconds, 1), "poolFrom": args.pool_from, "poolSize": len(pool),
    }))


if __name__ == "__main__":
    main()
