#!/usr/bin/env python3
"""torchvision (transforms.v2) peer of `benches/augment.rs`: views per second when the
transforms run one image at a time, the way a PyTorch Dataset applies them.

Pipelines (random uint8 images, --n images x 2 views per run, one process,
torch.set_num_threads(--threads)):
  cifar  : (3,32,32) RandomResizedCrop(32, scale=(0.08,1)) -> RandomHorizontalFlip()
           -> RandomApply([ColorJitter(0.4,0.4,0.4,0.1)], p=0.8) -> RandomGrayscale(0.2)
           -> ToDtype(float32, scale=True)
           = our `presets::simclr_cifar` (bench group `simclr_cifar`)
  digits : (1,28,28) RandomResizedCrop(28, scale=(0.5,1), ratio=(0.9,1.1))
           -> RandomAffine(10, translate=(0.1,0.1)) -> ToDtype(float32, scale=True)
           -> RandomErasing(p=0.25, scale=(0.02,0.1))
           = the bench group `digits_peer_ops` (our digits preset without its noise step)
Prints the views/s of each run and their median. Compare with
`RAYON_NUM_THREADS=1 cargo bench --bench augment` in the same sitting (`per_image` is the
like-for-like path; `batch` / `batch_into` are ours in parallel).

Usage: ~/venv-peers/bin/python scripts/peer_augment.py [--runs 3] [--n 5000] [--threads 1]
"""
import argparse
import statistics
import time

import torch
from torchvision.transforms import v2


def pipelines():
    cifar = v2.Compose([
        v2.RandomResizedCrop(32, scale=(0.08, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        v2.RandomGrayscale(0.2),
        v2.ToDtype(torch.float32, scale=True),
    ])
    digits = v2.Compose([
        v2.RandomResizedCrop(28, scale=(0.5, 1.0), ratio=(0.9, 1.1), antialias=True),
        v2.RandomAffine(10, translate=(0.1, 0.1)),
        v2.ToDtype(torch.float32, scale=True),
        v2.RandomErasing(p=0.25, scale=(0.02, 0.1)),
    ])
    return {"cifar": (cifar, (3, 32, 32)), "digits": (digits, (1, 28, 28))}


def views_per_second(transform, images):
    t0 = time.perf_counter()
    for image in images:
        transform(image)
        transform(image)
    return 2 * len(images) / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, n={args.n}")
    for name, (transform, shape) in pipelines().items():
        images = torch.randint(0, 256, (args.n, *shape), dtype=torch.uint8)
        for image in images[:50]:  # warm-up
            transform(image)
        rates = [views_per_second(transform, images) for _ in range(args.runs)]
        print(f"{name:7s} views/s runs={[round(r) for r in rates]} "
              f"median={statistics.median(rates):.0f}")


if __name__ == "__main__":
    main()
