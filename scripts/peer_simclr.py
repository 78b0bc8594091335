#!/usr/bin/env python3
"""PyTorch (CPU) reference of `contrast train` (SimCLR + small CNN): the same recipe, for the
issue-9 parity target (linear probe within 1 point, same epochs, compared in wall time).

Recipe (as crates/contrast-train defaults; each item checked against the Rust source):
- data: IDX files, pixels / 255. Official train/t10k files (Fashion-MNIST), or with `--name`
  one `<name>-{images-idx3,labels-idx1}-ubyte[.gz]` pair split by holdout.rs: the last
  round(0.2 n_c) samples of each class c (file order) are the test split.
- encoder: conv3x3(1->32, pad 1, no bias)-BN-ReLU-maxpool2-conv3x3(32->64, pad 1, no bias)-BN-
  ReLU-maxpool2-flatten-Linear(3136->128); head Linear(128,128, no bias)-BN1d-ReLU-
  Linear(128,64). PyTorch default init; BN momentum 0.1, eps 1e-5.
- views: two per image, torchvision.transforms.v2 per image in a Dataset, DataLoader
  num_workers=0 by default (all work in this process; ours prepares the next batch's views
  on one background thread: `--workers 1` is the closer match). `--augment` as the Rust
  `augmentation` setting (`auto` picks `objects` for Fashion-MNIST, `digits` otherwise):
  digits: RandomResizedCrop(28, scale (0.5,1), ratio (0.9,1.1), bilinear, no antialias) ->
    RandomAffine(10 deg, translate (0.1,0.1), bilinear, fill 0) -> GaussianNoise(sigma
    0.05, clip to [0,1]) with p 0.5 -> RandomErasing(p 0.25, scale (0.02,0.1), ratio
    (0.3,3.3), value 0);
  objects: RandomResizedCrop(28, scale (0.2,1), ratio (3/4,4/3), bilinear, no antialias) ->
    RandomHorizontalFlip(0.5) -> ColorJitter(brightness 0.4, contrast 0.4) with p 0.8 ->
    RandomErasing(p 0.25, scale (0.02,0.1), ratio (0.3,3.3), value 0).
- loss: NT-Xent (cosine, T 0.5, mean over the 2N anchors) of head(encoder([view1; view2])),
  one forward of the concatenated batch.
- optimiser: AdamW lr 1e-3, betas (0.9, 0.999), eps 1e-8, decoupled weight decay 1e-6 on conv
  and linear weights only; lr per step: linear warm-up from 0 over min(1 epoch, total-1) steps,
  then cosine to 0. Batch 256, drop_last, reshuffled every epoch; 15 epochs.
- evaluation, encoder features (128-d, BN on running statistics) of train and test split:
  weighted kNN on cosine similarity (k 200, T 0.1 and k 20, T 0.07; vote exp(s/T)) and
  linear probe as probe.rs: standardise with the train mean/std (std <= 1e-6 -> 1), W, b
  zero, AdamW lr 1e-2 (wd 5e-4 on W only), cosine to 0 over epochs*ceil(n/256) steps with no
  warm-up, shuffled batches of 256 (last one partial), 100 epochs. The same on raw pixels.
  kNN (k 200) is also run every `--eval-every` epochs, as ours, timed apart from training.

Run (from the repository root):
  ~/venv-peers/bin/python scripts/peer_simclr.py --data /usr/share/datasets/fashion-mnist \
      --augment objects --epochs 12 --workers 1
  ~/venv-peers/bin/python scripts/peer_simclr.py --data crates/contrast-data/data --name mnist5k
Options: --epochs 15 --threads 2 --workers 0 --augment digits --temperature 0.5 --seed 0
         --probe-epochs 100 --eval-every 5 --json
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.transforms import v2


def read_idx(path):
    """An IDX file, raw or gzip (detected by its magic bytes), as a numpy array."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(directory, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(directory, name)):
            return os.path.join(directory, name)
    sys.exit(f"missing {stem}[.gz] in {directory}")


def pair(directory, prefix):
    images = read_idx(find(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find(directory, f"{prefix}-labels-idx1-ubyte"))
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # (N, 1, H, W)
    return x, torch.from_numpy(labels.astype(np.int64))


def load(directory, name):
    """(train_x, train_y, test_x, test_y): official split, or holdout.rs's rule for `name`."""
    if name is None:
        return (*pair(directory, "train"), *pair(directory, "t10k"))
    x, y = pair(directory, name)
    train, test = [], []
    for c in range(int(y.max()) + 1):
        members = (y == c).nonzero().flatten().tolist()
        n_test = int(math.floor(0.2 * len(members) + 0.5))  # Rust rounds half away from zero
        train += members[: len(members) - n_test]
        test += members[len(members) - n_test:]
    train, test = torch.tensor(sorted(train)), torch.tensor(sorted(test))
    return x[train], y[train], x[test], y[test]


class SmallCnn(nn.Module):
    def __init__(self, side, out_dim=128):
        super().__init__()
        layers, c_in = [], 1
        for c in (32, 64):
            layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                       nn.ReLU(), nn.MaxPool2d(2)]
            c_in, side = c, side // 2
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c_in * side * side, out_dim))

    def forward(self, x):
        return self.net(x)


def projection_head(dim=128, out=64):
    return nn.Sequential(nn.Linear(dim, dim, bias=False), nn.BatchNorm1d(dim), nn.ReLU(),
                         nn.Linear(dim, out))


class TwoViews(torch.utils.data.Dataset):
    def __init__(self, images, size, augment):
        self.images = images
        if augment == "digits":  # presets::digits_sized
            ops = [
                v2.RandomResizedCrop(size, scale=(0.5, 1.0), ratio=(0.9, 1.1),
                                     interpolation=v2.InterpolationMode.BILINEAR,
                                     antialias=False),
                v2.RandomAffine(10.0, translate=(0.1, 0.1),
                                interpolation=v2.InterpolationMode.BILINEAR, fill=0),
                v2.RandomApply([v2.GaussianNoise(mean=0.0, sigma=0.05, clip=True)], p=0.5),
            ]
        else:  # "objects": presets::gray_objects_sized
            ops = [
                v2.RandomResizedCrop(size, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3),
                                     interpolation=v2.InterpolationMode.BILINEAR,
                                     antialias=False),
                v2.RandomHorizontalFlip(0.5),
                v2.RandomApply([v2.ColorJitter(brightness=0.4, contrast=0.4)], p=0.8),
            ]
        ops.append(v2.RandomErasing(p=0.25, scale=(0.02, 0.1), ratio=(0.3, 3.3), value=0))
        self.pipe = v2.Compose(ops)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        img = self.images[i]
        return self.pipe(img), self.pipe(img)


def nt_xent(z, t):
    z = F.normalize(z, dim=1, eps=1e-12)
    n2 = z.shape[0]
    s = z @ z.t() / t
    s = s.masked_fill(torch.eye(n2, dtype=torch.bool), float("-inf"))
    positives = (torch.arange(n2) + n2 // 2) % n2
    return F.cross_entropy(s, positives)  # mean over all 2N anchors


def warmup_cosine(base, warmup, total, t):
    """schedule.rs: 0 -> base linearly over `warmup` steps, then cosine down to 0 at `total`."""
    if t < warmup:
        return base * t / warmup
    if t >= total:
        return 0.0
    return base * 0.5 * (1.0 + math.cos(math.pi * (t - warmup) / (total - warmup)))


def adamw(params, lr, wd):
    """AdamW with decay on weight matrices / conv kernels only (our ParamKind::Weight)."""
    params = [p for p in params if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    rest = [p for p in params if p.ndim <= 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                              {"params": rest, "weight_decay": 0.0}],
                             lr=lr, betas=(0.9, 0.999), eps=1e-8)


@torch.no_grad()
def encode(encoder, x):
    encoder.eval()
    out = torch.cat([encoder(x[i:i + 256]) for i in range(0, len(x), 256)])
    encoder.train()
    return out


@torch.no_grad()
def knn_accuracy(train, ytr, test, yte, k, t, classes):
    bank, queries = F.normalize(train, dim=1), F.normalize(test, dim=1)
    k = min(k, len(bank))
    hits = 0
    for i in range(0, len(queries), 256):
        sims, idx = (queries[i:i + 256] @ bank.t()).topk(k, dim=1)
        votes = torch.zeros(len(sims), classes).scatter_add_(1, ytr[idx], ((sims - 1) / t).exp())
        hits += (votes.argmax(1) == yte[i:i + 256]).sum().item()
    return hits / len(yte)


def linear_probe(train, ytr, test, yte, classes, epochs, seed):
    mean, std = train.mean(0), train.std(0, unbiased=False)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    train, test = (train - mean) / std, (test - mean) / std
    w = torch.zeros(train.shape[1], classes, requires_grad=True)
    b = torch.zeros(classes, requires_grad=True)
    opt = adamw([w, b], 1e-2, 5e-4)
    total = epochs * math.ceil(len(train) / 256)
    gen, step = torch.Generator().manual_seed(seed), 0
    for _ in range(epochs):
        for chunk in torch.randperm(len(train), generator=gen).split(256):
            for group in opt.param_groups:
                group["lr"] = warmup_cosine(1e-2, 0, total, step)
            loss = F.cross_entropy(train[chunk] @ w + b, ytr[chunk])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
    with torch.no_grad():
        return ((test @ w + b).argmax(1) == yte).float().mean().item()


def scores(train, ytr, test, yte, classes, probe_epochs, seed):
    return {"knn_200": knn_accuracy(train, ytr, test, yte, 200, 0.1, classes),
            "knn_20": knn_accuracy(train, ytr, test, yte, 20, 0.07, classes),
            "linear_probe": linear_probe(train, ytr, test, yte, classes, probe_epochs, seed)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--name", default=None, help="IDX prefix with a held-out split (mnist5k)")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--temperature", type=float, default=0.5)
    ap.add_argument("--augment", choices=["digits", "objects"], default="digits",
                    help="view recipe, as the Rust `augmentation` setting")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-6)
    ap.add_argument("--warmup-epochs", type=int, default=1)
    ap.add_argument("--probe-epochs", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=5, help="kNN every N epochs; 0 = off")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=0,
                    help="DataLoader worker processes (1 ~ our one background view thread)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print one JSON summary on stdout")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else \
        (lambda *a: print(*a, flush=True))

    xtr, ytr, xte, yte = load(args.data, args.name)
    classes = int(max(ytr.max(), yte.max())) + 1
    side = xtr.shape[-1]
    log(f"data: train {tuple(xtr.shape)}, test {tuple(xte.shape)}, {classes} classes; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.workers} workers")
    encoder, head = SmallCnn(side), projection_head()
    model = nn.Sequential(encoder, head)
    opt = adamw(model.parameters(), args.lr, args.weight_decay)
    loader = torch.utils.data.DataLoader(
        TwoViews(xtr, (xtr.shape[-2], side), args.augment), batch_size=args.batch_size, shuffle=True,
        drop_last=True, num_workers=args.workers,
        generator=torch.Generator().manual_seed(args.seed))
    steps_per_epoch = len(loader)
    total = args.epochs * steps_per_epoch
    warmup = min(args.warmup_epochs * steps_per_epoch, total - 1)

    step, train_seconds, eval_seconds, history = 0, 0.0, 0.0, []
    for epoch in range(args.epochs):
        started, losses = time.perf_counter(), []
        for v1, v2_ in loader:
            for group in opt.param_groups:
                group["lr"] = warmup_cosine(args.lr, warmup, total, step)
            loss = nt_xent(model(torch.cat([v1, v2_])), args.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
        seconds = time.perf_counter() - started
        train_seconds += seconds
        line = {"epoch": epoch + 1, "loss": sum(losses) / len(losses), "seconds": seconds,
                "samples_per_second": steps_per_epoch * args.batch_size / seconds}
        if args.eval_every and ((epoch + 1) % args.eval_every == 0 or epoch + 1 == args.epochs):
            started = time.perf_counter()
            line["knn_accuracy"] = knn_accuracy(encode(encoder, xtr), ytr, encode(encoder, xte),
                                                yte, 200, 0.1, classes)
            line["eval_seconds"] = time.perf_counter() - started
            eval_seconds += line["eval_seconds"]
        history.append(line)
        knn = f"  knn200 {line['knn_accuracy']:.4f}" if "knn_accuracy" in line else ""
        log(f"epoch {epoch + 1:3}/{args.epochs}  loss {line['loss']:.4f}  "
            f"{seconds:7.1f} s  {line['samples_per_second']:7.1f} samples/s{knn}")

    started = time.perf_counter()
    trained = scores(encode(encoder, xtr), ytr, encode(encoder, xte), yte, classes,
                     args.probe_epochs, args.seed)
    pixels = scores(xtr.flatten(1), ytr, xte.flatten(1), yte, classes, args.probe_epochs,
                    args.seed)
    final_eval = time.perf_counter() - started
    summary = {"recipe": "simclr small-cnn (peer_simclr.py)", "data": args.data,
               "name": args.name, "epochs": args.epochs, "threads": args.threads,
               "workers": args.workers, "augment": args.augment,
               "temperature": args.temperature,
               "seed": args.seed, "steps": step, "train_seconds": train_seconds,
               "periodic_knn_seconds": eval_seconds, "final_eval_seconds": final_eval,
               "trained": trained, "raw_pixels": pixels, "history": history}
    log(f"summary: {args.epochs} epochs, train {train_seconds:.1f} s (+{eval_seconds:.1f} s "
        f"periodic kNN, {final_eval:.1f} s final eval) | trained: knn200 "
        f"{trained['knn_200']:.4f} knn20 {trained['knn_20']:.4f} probe "
        f"{trained['linear_probe']:.4f} | raw pixels: knn200 {pixels['knn_200']:.4f} knn20 "
        f"{pixels['knn_20']:.4f} probe {pixels['linear_probe']:.4f}")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
