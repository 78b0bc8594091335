"""Peer figure for `crates/contrast-nn/benches/embedding.rs`: one step of the text encoder
in PyTorch at 2 threads.

Not part of the tests. Run it in the same sitting as
`cargo bench -p contrast-nn --bench embedding` and compare the times:

    $HOME/venv-peers/bin/python scripts/peer_text_step.py [--threads 2] [--reps 20] [--ids uniform|zipf]

The step is the bench's: `nn.EmbeddingBag(2**18, 256, mode="mean")` -> Linear 256-256 ->
ReLU -> Linear 256-128, loss = mean of the squared outputs, on 512 bags of 120..=180 ids,
forward + backward + optimizer step, float32. Ids follow the same laws as the bench (the
same law, not the same draws): `uniform` over the 2^18 buckets, or `zipf` (ranks from
Zipf(2^18, 1) mapped to buckets by `rank * 2654435761 mod 2^18`). Two variants:

* `dense_adam`: the default `nn.EmbeddingBag` (dense gradient of the whole table) and
  `torch.optim.Adam` over every parameter: the PyTorch recipe of the issue.
* `sparse_adam`: `nn.EmbeddingBag(sparse=True)` with `torch.optim.SparseAdam` on the table
  and `torch.optim.Adam` on the MLP: PyTorch's own lazy update, beside ours.

Each variant is timed as the median of `reps` steps (after 3 warm-up steps), cycling over
4 batches.
"""

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

BUCKETS = 2**18
BATCH = 512


def make_batch(rng: np.random.Generator, law: str, zipf_p: np.ndarray):
    lengths = rng.integers(120, 181, size=BATCH)
    n = int(lengths.sum())
    if law == "uniform":
        ids = rng.integers(0, BUCKETS, size=n)
    else:
        ranks = rng.choice(BUCKETS, size=n, p=zipf_p)  # rank 0 is the most frequent
        ids = (ranks.astype(np.uint64) * np.uint64(2654435761)) % np.uint64(BUCKETS)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return (torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(offsets.astype(np.int64)))


class Encoder(nn.Module):
    def __init__(self, sparse: bool):
        super().__init__()
        self.embedding = nn.EmbeddingBag(BUCKETS, 256, mode="mean", sparse=sparse)
        self.mlp = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 128))

    def forward(self, ids, offsets):
        return self.mlp(self.embedding(ids, offsets))


def time_variant(variant: str, batches, reps: int) -> list[float]:
    torch.manual_seed(0)
    sparse = variant == "sparse_adam"
    model = Encoder(sparse)
    if sparse:
        opts = [torch.optim.SparseAdam(list(model.embedding.parameters()), lr=1e-3),
                torch.optim.Adam(list(model.mlp.parameters()), lr=1e-3)]
    else:
        opts = [torch.optim.Adam(model.parameters(), lr=1e-3)]

    def step(i: int) -> float:
        ids, offsets = batches[i % len(batches)]
        for o in opts:
            o.zero_grad(set_to_none=True)
        y = model(ids, offsets)
        loss = (y * y).mean()
        loss.backward()
        for o in opts:
            o.step()
        return loss.item()

    for i in range(3):
        step(i)
    times = []
    for i in range(reps):
        t0 = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--ids", choices=["uniform", "zipf"], nargs="+", default=["uniform", "zipf"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    ranks = np.arange(1, BUCKETS + 1, dtype=np.float64)
    zipf_p = (1.0 / ranks) / (1.0 / ranks).sum()
    for law in args.ids:
        rng = np.random.default_rng(1)
        batches = [make_batch(rng, law, zipf_p) for _ in range(4)]
        distinct = len(np.unique(batches[0][0].numpy()))
        print(f"text_step/{law}: {distinct} distinct rows in a batch of {BATCH} bags")
        for variant in ["dense_adam", "sparse_adam"]:
            times = time_variant(variant, batches, args.reps)
            print(f"text_step/{variant}/{law}: median {statistics.median(times) * 1e3:8.1f} ms  "
                  f"min {min(times) * 1e3:8.1f} ms  reps={args.reps}")


if __name__ == "__main__":
    main()
