#!/usr/bin/env python3
"""PyTorch (CPU) peer of `contrast bench step` and `benches/train_step.rs`: the median time of
one SimCLR training step on 28x28 grayscale images, for the same two models.

Models (as src/cli/simclr_step.rs builds them):
  mlp : encoder Linear(784,512)-ReLU-Linear(512,512)-ReLU, projection head Linear(512,128)
  cnn : Conv2d(1,32,3,padding=P)-ReLU-MaxPool2d(2)-Conv2d(32,64,3,padding=P)-ReLU-MaxPool2d(2)
        -Flatten-Linear(64*s*s,128), s = 7 for P = 1 (3136 inputs, the default), 5 for P = 0;
        its 128-d output goes straight into the loss.
Loss  : NT-Xent, temperature 0.5; B images in two views -> 2B rows, rows i and i+B positive,
        rows L2-normalised inside, mean over the 2B anchors (docs/references.md, "NT-Xent").
Step  : zero_grad; z = model(cat(view1, view2)); loss = ntxent(z); backward; optimiser step,
        for SGD (lr 0.05, momentum 0.9; ours has this one) and Adam (lr 1e-3).
Also  : NT-Xent forward + backward alone on a (2B, 128) matrix.
Timing: --warmup untimed steps, then --iters steps each timed with perf_counter; medians.
Inputs: random tensors with a fixed seed (no dataset), float32.

Every line ends with `other_procs_cpu`, the share of the machine other processes used
while it was measured: a figure taken on a busy machine is no figure. Run this and
`contrast bench step` back to back, twice, and compare the ratio of medians.

Usage: ~/venv-peers/bin/python scripts/peer_step.py [--threads 2] [--batch 256]
       [--iters 20] [--warmup 5] [--cnn-padding 1] [--check]
"""
import argparse
import os
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def ntxent(z: torch.Tensor, temperature: float) -> torch.Tensor:
    """NT-Xent of z (2B, D) whose rows i and i+B are positive pairs: cross-entropy of the
    cosine logits (self-similarity masked out) to each row's partner, mean over 2B rows."""
    rows = z.shape[0]
    zn = F.normalize(z, dim=1)
    logits = zn @ zn.t() / temperature
    self_pairs = torch.eye(rows, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_pairs, float("-inf"))
    partner = (torch.arange(rows, device=z.device) + rows // 2) % rows
    return F.cross_entropy(logits, partner)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(),
                                     nn.Linear(512, 512), nn.ReLU())
        self.head = nn.Linear(512, 128)

    def forward(self, x):
        return self.head(self.encoder(x))


class SmallCnn(nn.Module):
    def __init__(self, padding=1):
        super().__init__()
        side = 28
        for _ in range(2):  # conv 3x3 then max-pool 2
            side = (side + 2 * padding - 2) // 2
        self.flat = 64 * side * side
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=padding), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(self.flat, 128))

    def forward(self, x):
        return self.net(x)


def cpu_jiffies():
    """(busy, total) CPU jiffies of the whole machine from /proc/stat; None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


class Contention:
    """Measures, over a `with` block, the share of all CPU time that other processes used
    (0 to 1; NaN where /proc/stat is unavailable)."""

    def __enter__(self):
        self.start, self.own_start = cpu_jiffies(), time.process_time()
        return self

    def __exit__(self, *exc):
        end, own_end = cpu_jiffies(), time.process_time()
        if self.start is None or end is None or end[1] == self.start[1]:
            self.other = float("nan")
            return
        hz = os.sysconf("SC_CLK_TCK")
        busy = (end[0] - self.start[0]) / hz
        total = (end[1] - self.start[1]) / hz
        self.other = max(0.0, busy - (own_end - self.own_start)) / total


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def median_step(model, opt, view1, view2, temperature, warmup, iters):
    def step():
        opt.zero_grad(set_to_none=True)
        # The batch is copied into the model's input every step, as ours does.
        loss = ntxent(model(torch.cat([view1, view2], 0)), temperature)
        loss.backward()
        opt.step()
        return loss.detach()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times), loss.item()


def median_loss_only(rows, dim, temperature, warmup, iters):
    z = torch.randn(rows, dim, requires_grad=True)
    times = []
    for i in range(warmup + iters):
        t0 = time.perf_counter()
        z.grad = None
        ntxent(z, temperature).backward()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def check_against_libraries(temperature):
    """ntxent() against pytorch-metric-learning's and lightly's NT-Xent, where installed."""
    z = torch.randn(16, 16, dtype=torch.float64)
    ours = ntxent(z, temperature).item()
    try:
        from pytorch_metric_learning.losses import NTXentLoss
        labels = torch.cat([torch.arange(8), torch.arange(8)])
        print(f"check vs pytorch-metric-learning NTXentLoss: "
              f"|diff| = {abs(ours - NTXentLoss(temperature)(z, labels).item()):.2e}")
    except ImportError:
        print("pytorch-metric-learning not installed; no check")
    try:
        from lightly.loss import NTXentLoss
        print(f"check vs lightly NTXentLoss: "
              f"|diff| = {abs(ours - NTXentLoss(temperature)(z[:8], z[8:]).item()):.2e}")
    except ImportError:
        print("lightly not installed; no check")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--cnn-padding", type=int, default=1, choices=[0, 1])
    ap.add_argument("--check", action="store_true",
                    help="compare ntxent() with pytorch-metric-learning and lightly")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    b = args.batch
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, batch={b} "
          f"(2 views -> {2 * b} rows), T={args.temperature}, warmup={args.warmup}, "
          f"iters={args.iters}")
    if args.check:
        check_against_libraries(args.temperature)

    view1, view2 = torch.randn(b, 1, 28, 28), torch.randn(b, 1, 28, 28)
    for name in ("mlp", "cnn"):
        for optimiser in ("sgd", "adam"):
            torch.manual_seed(0)
            model = Mlp() if name == "mlp" else SmallCnn(args.cnn_padding)
            if optimiser == "sgd":
                opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
            else:
                opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            with Contention() as c:
                med, lo, hi, loss = median_step(model, opt, view1, view2, args.temperature,
                                                args.warmup, args.iters)
            extra = f" cnn_padding={args.cnn_padding} flat={model.flat}" if name == "cnn" else ""
            print(f"{name:4s} {optimiser:4s} params={parameter_count(model):8d} "
                  f"median_step={med * 1e3:8.2f} ms (min {lo * 1e3:.2f}, max {hi * 1e3:.2f})  "
                  f"steps/s={1 / med:7.2f}  images/s={b / med:9.1f}  last_loss={loss:.4f}"
                  f"{extra}  other_procs_cpu={c.other:.0%}")
    with Contention() as c:
        t = median_loss_only(2 * b, 128, args.temperature, args.warmup, args.iters)
    print(f"ntxent loss only ({2 * b} x 128, fwd+bwd): median {t * 1e3:.3f} ms  "
          f"other_procs_cpu={c.other:.0%}")


if __name__ == "__main__":
    main()
