#!/usr/bin/env python3
"""The temporal recipe in PyTorch, on the trajectories `contrast` generated.

Reads a `contrast-env` cache file (`~/.cache/contrast/cartpole-40x64-*.ctraj`, written by
the first `contrast train --dataset cartpole`), trains the issue's reference set-up and
prints the same probes as our temporal task: next-state top-1 among 1,000 test futures and
kNN-20 R^2 per state variable (cosine neighbours, mean true state), for the trained model,
the random encoder and the raw pixels. It tells whether a gap between our recipe and the
reference figures comes from the data or from the trainer.

Set-up (the defaults): 2-frame stacks in [0, 1], encoder conv 2->32 5x5 s2, ReLU, conv
32->64 3x3 s2, ReLU, linear -> 64; predictor MLP (64 + actions) -> 256 -> 64; InfoNCE at
T = 0.1 over cosine similarities, the batch's other futures as negatives; batch 256, Adam.

    ~/venv-peers/bin/python scripts/peer_temporal.py ~/.cache/contrast/cartpole-40x64-*.ctraj \
        --steps 1000 --lr 1e-3 --threads 2
"""

import argparse
import gzip
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

H, W, STATE_DIM, ACTIONS = 40, 64, 4, 2


def read_ctraj(path):
    """The train and test sets of a version-1 cache file (format in contrast-env's cache.rs)."""
    with open(path, "rb") as f:
        head = f.read(8)
        assert head[:6] == b"CTRAJ\0", "not a contrast-env cache file"
        data = gzip.decompress(f.read())
    pos = 0

    def take(n):
        nonlocal pos
        out = data[pos : pos + n]
        pos += n
        return out

    (key_len,) = struct.unpack("<I", take(4))
    key = take(key_len).decode()
    sets = []
    for _ in range(2):
        (n,) = struct.unpack("<Q", take(8))
        lens = []
        for _ in range(n):
            (length,) = struct.unpack("<Q", take(8))
            take(3 + 8)
            lens.append(length)
        transitions = sum(lens)
        steps = transitions + n
        actions = np.frombuffer(take(transitions), np.uint8)
        take(8 * transitions)  # rewards
        states = np.frombuffer(take(8 * steps * STATE_DIM), "<f8").reshape(steps, STATE_DIM)
        frames = np.frombuffer(take(steps * H * W), np.uint8).reshape(steps, H, W)
        sets.append(dict(lens=lens, actions=actions, states=states, frames=frames))
    return key, sets[0], sets[1]


def index(s, k):
    """Global step rows of every (t, t + k) pair, the previous frame's row of every step,
    and the transition row of every pair's first action."""
    anchors, futures, prev, act = [], [], [], []
    step0, trans0 = 0, 0
    for length in s["lens"]:
        for t in range(length + 1):
            prev.append(step0 + max(t - 1, 0))
        for t in range(length + 1 - k):
            anchors.append(step0 + t)
            futures.append(step0 + t + k)
            act.append(trans0 + t)
        step0 += length + 1
        trans0 += length
    return (np.array(anchors), np.array(futures), np.array(prev), np.array(act))


# Per-pixel standardisation (--standardize): the training frames' mean and std, the std
# floored at 0.05 as in our temporal task. With --differences, frame 1 of a stack becomes
# its change since frame 0 divided by the pixel's root mean square change between
# consecutive training frames (floored at 0.01), as our `frame_differences`.
MODE = {"mean": None, "std": None, "change": None}


def stacks(s, prev, rows):
    f = s["frames"]
    x = np.stack([f[prev[rows]], f[rows]], 1).astype(np.float32) / 255.0
    if MODE["change"] is not None:
        x[:, 1] = (x[:, 1] - x[:, 0]) / MODE["change"]
        x[:, 0] = (x[:, 0] - MODE["mean"]) / MODE["std"]
    elif MODE["mean"] is not None:
        x = (x - MODE["mean"]) / MODE["std"]
    return torch.from_numpy(x)


class Encoder(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.c1 = nn.Conv2d(2, 32, 5, 2)
        self.c2 = nn.Conv2d(32, 64, 3, 2)
        self.fc = nn.Linear(64 * 8 * 14, features)

    def forward(self, x):
        return self.fc(F.relu(self.c2(F.relu(self.c1(x)))).flatten(1))


def encode(enc, s, prev):
    out = []
    with torch.no_grad():
        for i in range(0, len(prev), 1024):
            rows = np.arange(i, min(i + 1024, len(prev)))
            out.append(enc(stacks(s, prev, rows)))
    return torch.cat(out)


def top1(queries, candidates, seed, pool=1000):
    q = F.normalize(queries, dim=1)
    c = F.normalize(candidates, dim=1)
    rng = np.random.default_rng(seed)
    m = len(q)
    hits = 0
    for i in range(m):
        others = rng.choice(m - 1, pool - 1, replace=False)
        others = others + (others >= i)
        s_true = (q[i] * c[i]).sum()
        s_other = c[others] @ q[i]
        hits += int((s_other < s_true).all())
    return hits / m


def knn_r2(train, train_states, test, test_states, k=20):
    a = F.normalize(train, dim=1)
    b = F.normalize(test, dim=1)
    preds = []
    for i in range(0, len(b), 1024):
        idx = (b[i : i + 1024] @ a.T).topk(k, dim=1).indices
        preds.append(train_states[idx].mean(1))
    pred = torch.cat(preds)
    resid = ((test_states - pred) ** 2).sum(0)
    total = ((test_states - test_states.mean(0)) ** 2).sum(0)
    return (1 - resid / total).tolist()


def probes(name, train_f, test_f, queries, anchors_te, futures_te, tr, te, seed, keys=None):
    """Retrieval of `keys` (default: the features) of the futures; kNN R2 of the features."""
    keys = test_f if keys is None else keys
    t1 = top1(queries, keys[futures_te], seed)
    r2 = knn_r2(train_f, torch.from_numpy(tr["states"].copy()), test_f, torch.from_numpy(te["states"].copy()))
    print(f"{name:<16} top-1 {t1:.3f}  kNN R2 x {r2[0]:.3f} x_dot {r2[1]:.3f} theta {r2[2]:.3f} theta_dot {r2[3]:.3f}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("ctraj")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--temperature", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--baselines", action="store_true", help="also score pixels and the random encoder")
    p.add_argument("--standardize", action="store_true", help="per-pixel z-scores (training mean and std)")
    p.add_argument("--head", action="store_true", help="a projection head (64-64-64 MLP) between the features and the loss; the probes read the features before it")
    p.add_argument("--key-head", action="store_true", help="a projection head (d-256-d MLP) on the keys only: the predictor reads the features, the keys are head(f(o_{t+k})); the probes read the features (our projection_head)")
    p.add_argument("--differences", action="store_true", help="frame 0 standardised, frame 1 as its change since frame 0 over the pixel's rms change")
    p.add_argument("--key-gradient", type=float, default=1.0, help="share of the gradient through the keys (1: plain loss)")
    p.add_argument("--features", type=int, default=64, help="width of the encoder's output")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    key, tr, te = read_ctraj(a.ctraj)
    print(key)
    anc_tr, fut_tr, prev_tr, act_tr = index(tr, 1)
    anc_te, fut_te, prev_te, act_te = index(te, 1)
    print(f"{len(anc_tr)} train pairs, {len(anc_te)} test pairs")
    if a.standardize or a.differences:
        frames = tr["frames"].astype(np.float32) / 255.0
        MODE["mean"], MODE["std"] = frames.mean(0), np.maximum(frames.std(0), 0.05)
    if a.differences:
        squares, changes, start = np.zeros((H, W)), 0, 0
        for length in tr["lens"]:
            ep = frames[start : start + length + 1]
            squares += ((ep[1:] - ep[:-1]) ** 2).sum(0)
            changes += length
            start += length + 1
        MODE["change"] = np.maximum(np.sqrt(squares / changes), 0.01).astype(np.float32)
    d = a.features
    enc = Encoder(d)
    pred = nn.Sequential(nn.Linear(d + ACTIONS, 256), nn.ReLU(), nn.Linear(256, d))
    if a.head and a.key_head:
        p.error("--head and --key-head are two places for one head: choose one")
    if a.head:
        head = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d))
    elif a.key_head:
        head = nn.Sequential(nn.Linear(d, 256), nn.ReLU(), nn.Linear(256, d))
    else:
        head = nn.Identity()
    # What the predictor reads: the head's output with --head, the features with --key-head.
    query_side = nn.Identity() if a.key_head else head
    onehot_te = F.one_hot(torch.from_numpy(te["actions"][act_te].astype(np.int64)), ACTIONS).float()
    if a.baselines:
        all_tr, all_te = np.arange(len(prev_tr)), np.arange(len(prev_te))
        px_tr = stacks(tr, prev_tr, all_tr).flatten(1)
        px_te = stacks(te, prev_te, all_te).flatten(1)
        probes("raw pixels", px_tr, px_te, px_te[anc_te], anc_te, fut_te, tr, te, a.seed)
        f_tr, f_te = encode(enc, tr, prev_tr), encode(enc, te, prev_te)
        probes("random encoder", f_tr, f_te, f_te[anc_te], anc_te, fut_te, tr, te, a.seed)
    opt = torch.optim.Adam(list(enc.parameters()) + list(pred.parameters()) + list(head.parameters()), lr=a.lr)
    rng = np.random.default_rng(a.seed)
    started = time.time()
    for step in range(a.steps):
        b = rng.choice(len(anc_tr), a.batch, replace=False)
        x0 = stacks(tr, prev_tr, anc_tr[b])
        x1 = stacks(tr, prev_tr, fut_tr[b])
        act = F.one_hot(torch.from_numpy(tr["actions"][act_tr[b]].astype(np.int64)), ACTIONS).float()
        f = enc(torch.cat([x0, x1]))
        q = pred(torch.cat([query_side(f[: a.batch]), act], 1))
        k = head(f[a.batch :])
        k = a.key_gradient * k + (1 - a.key_gradient) * k.detach()
        logits = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T / a.temperature
        loss = F.cross_entropy(logits, torch.arange(a.batch))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % 200 == 0:
            print(f"step {step + 1} loss {loss.item():.4f} {time.time() - started:.0f} s", flush=True)
    print(f"training {time.time() - started:.1f} s")
    f_tr, f_te = encode(enc, tr, prev_tr), encode(enc, te, prev_te)
    with torch.no_grad():
        queries = pred(torch.cat([query_side(f_te[anc_te]), onehot_te], 1))
        keys = head(f_te)
    probes("trained", f_tr, f_te, queries, anc_te, fut_te, tr, te, a.seed, keys)
    probes("trained, no pred", f_tr, f_te, f_te[anc_te], anc_te, fut_te, tr, te, a.seed)


if __name__ == "__main__":
    main()
