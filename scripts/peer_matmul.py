"""Peer figure for `benches/autodiff.rs`: PyTorch's f32 matmul GFLOP/s at 2 threads.

Not part of the tests. Run it in the same sitting as
`cargo bench -p contrast --bench autodiff -- matmul_f32` and compare the ratios:

    $HOME/venv-peers/bin/python scripts/peer_matmul.py [--threads 2] [--reps 30]

Each size is timed as the median of `reps` calls of `torch.mm` (after warm-up), and
reported as 2 N^3 / median seconds.
"""

import argparse
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1024, 2048])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for n in args.sizes:
        a = torch.rand(n, n, generator=gen, dtype=torch.float32) * 2 - 1
        b = torch.rand(n, n, generator=gen, dtype=torch.float32) * 2 - 1
        out = torch.empty(n, n, dtype=torch.float32)
        for _ in range(3):
            torch.mm(a, b, out=out)
        # Fewer reps at large sizes keep the run short; at least 5 for a median.
        reps = max(5, args.reps * 512 // n) if n > 512 else args.reps
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            torch.mm(a, b, out=out)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        print(
            f"N={n:5d}  median {med * 1e3:8.3f} ms  min {min(times) * 1e3:8.3f} ms  "
            f"{2 * n**3 / med / 1e9:7.1f} GFLOP/s (median)  "
            f"{2 * n**3 / min(times) / 1e9:7.1f} GFLOP/s (best)  reps={reps}"
        )


if __name__ == "__main__":
    main()
