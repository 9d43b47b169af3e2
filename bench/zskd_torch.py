#!/usr/bin/python3
"""ZSKD's data impressions (vcl-iisc/ZSKD, as methods.md gives it, with the paper's β applied) and
the KD student phase, in PyTorch, on Distillery's bundled LeNet5 teacher: the curve that
Distillery's ZSKD runs are compared with.

    /usr/bin/python3 bench/zskd_torch.py [--impressions 6000] [--iterations 500] [--batch 200]
        [--lr 1e-3] [--tau 20] [--student-epochs 200] [--student-batch 256] [--student-lr 2e-3]
        [--eval-every 25] [--seed 1] [--threads N]

Class similarity: the teacher's last Dense weights W [d × K], each class column normalised,
S = WᵀW min-max scaled to [0, 1]. Impression i has class i mod K and β = (1.0, 0.1)[⌊i/K⌋ mod 2]; its
soft target y ~ Dir(β·S[c] + 1e-4). Per batch: u ~ U[0, 1], Adam(lr) on u for --iterations steps
of CE(softmax(T(norm(u)) / τ), y), u renormalised per image to [0, 1] after each step, where
norm(u) = (u − 0.1307) / 0.3081 is the bundled teacher's preprocessing (the reference's teacher
takes [0, 1] pixels). The pool is norm(u). Student: KD at τ (× τ²), as bench/deepinversion_torch.py;
--pool-from RUN trains it on a Distillery ZSKD run's impressions instead.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

from dafl_torch import accuracy, frozen_teacher_and_test_set, parse_with_seed_and_threads
from deepinversion_torch import kd_student, load_run_pool

MEAN, STD = 0.1307, 0.3081


def class_similarity(teacher):
    w = teacher.fc2.weight.detach().t()  # [d, K], as the tfjs Dense kernel
    wn = w / w.norm(dim=0, keepdim=True)
    s = wn.t() @ wn
    return (s - s.min()) / (s.max() - s.min())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--impressions", type=int, default=6000)
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--tau", type=float, default=20.0)
    ap.add_argument("--student-epochs", type=int, default=200)
    ap.add_argument("--student-batch", type=int, default=256)
    ap.add_argument("--student-lr", type=float, default=2e-3)
    ap.add_argument("--eval-every", type=int, default=25, help="student epochs between evaluations")
    ap.add_argument("--pool-from", help="a Distillery ZSKD run folder: train the student on its impressions (pool/*.f32, NHWC) instead of synthesising them")
    args = parse_with_seed_and_threads(ap)
    teacher, x_test, y_test = frozen_teacher_and_test_set(args)
    similarity = class_similarity(teacher)
    k = similarity.shape[0]
    betas = (1.0, 0.1)
    started = time.time()
    if args.pool_from:
        pool = [load_run_pool(args.pool_from, "zskd")]
    else:
        pool = []
        for first in range(0, args.impressions, args.batch):
            index = torch.arange(first, first + args.batch)
            alpha = torch.stack([betas[int(i // k) % 2] * similarity[int(i % k)] + 1e-4 for i in index])
            y = torch.distributions.Dirichlet(alpha).sample()
            u = torch.rand(args.batch, 1, 32, 32, requires_grad=True)
            opt = torch.optim.Adam([u], lr=args.lr)
            for _ in range(args.iterations):
                opt.zero_grad()
                loss = -(y * F.log_softmax(teacher((u - MEAN) / STD) / args.tau, dim=1)).sum(1).mean()
                loss.backward()
                opt.step()
                with torch.no_grad():
                    lo = u.amin(dim=(1, 2, 3), keepdim=True)
                    hi = u.amax(dim=(1, 2, 3), keepdim=True)
                    u.copy_((u - lo) / (hi - lo).clamp_min(1e-12))
            pool.append(((u.detach() - MEAN) / STD))
            print(json.dumps({"batch": first // args.batch + 1, "impression": round(loss.item(), 4), "seconds": round(time.time() - started, 1)}), flush=True)
    pool = torch.cat(pool)
    with torch.no_grad():
        pool_logits = teacher(pool)
    synthesis_seconds = time.time() - started

    kd_student(pool, pool_logits, args.student_epochs, args.student_batch, args.student_lr, args.tau, args.eval_every, x_test, y_test, started)
    print(json.dumps({
        "teacherTestAccuracy": accuracy(teacher, x_test, y_test), "impressions": args.impressions, "iterations": args.iterations,
        "batch": args.batch, "seed": args.seed, "threads": args.threads, "torch": torch.__version__,
        "synthesisSeconds": round(synthesis_seconds, 1), "poolFrom": args.pool_from, "poolSize": len(pool),
    }))


if __name__ == "__main__":
    main()
