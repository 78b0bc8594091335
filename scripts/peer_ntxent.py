#!/usr/bin/env python3
"""PyTorch CPU reference for `benches/losses.rs` group `nt_xent_512x128`: NT-Xent forward +
backward only, timed exactly as `ntxent loss only` in scripts/peer_step.py (same ntxent(),
same loop, median of --iters after --warmup), without the model steps.

Usage: ~/venv-peers/bin/python scripts/peer_ntxent.py [--threads 2] [--rows 512] [--dim 128]
       [--iters 200]
"""
import argparse
import os
import statistics
import time

import torch

from peer_step import Contention, ntxent  # this folder (Python puts it on the path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rows", type=int, default=512)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--temperature", type=float, default=0.5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    z = torch.randn(args.rows, args.dim, requires_grad=True)
    ts = []
    with Contention() as c:
        for i in range(args.warmup + args.iters):
            t0 = time.perf_counter()
            z.grad = None
            loss = ntxent(z, args.temperature)
            loss.backward()
            if i >= args.warmup:
                ts.append(time.perf_counter() - t0)
    q = statistics.quantiles(ts, n=10)
    print(f"torch {torch.__version__} threads={torch.get_num_threads()} ntxent {args.rows}x{args.dim} "
          f"fwd+bwd: median {statistics.median(ts) * 1e3:.3f} ms (p10 {q[0] * 1e3:.3f}, "
          f"p90 {q[-1] * 1e3:.3f}, n={len(ts)})  other_procs_cpu={c.other:.0%}  "
          f"loadavg={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
