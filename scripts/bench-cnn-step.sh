#!/usr/bin/env bash
# The SimCLR training step beside PyTorch's, back to back, in two sittings:
#   ours:    contrast bench step --model cnn|mlp --threads T   (SGD momentum, batch 256 -> 512 rows)
#   PyTorch: $PEER_STEP --threads T                            (the same models, loss, optimizer)
# and the ratios ours / PyTorch of the median step times (the issue's goal for the CNN:
# <= 0.5; the MLP must not get slower). Run it on a quiet machine: it prints the load
# average before each sitting, and PyTorch's own estimate of the CPU other processes used.
#
# Usage, from anywhere:  scripts/bench-cnn-step.sh
# Environment:
#   THREADS     worker threads for both (default 2)
#   ITERS       timed steps per run (default 20; 5 untimed warm-up steps come first)
#   PEER_STEP   the PyTorch step script (default scripts/peer_step.py)
#   PYTHON      the interpreter with torch (default ~/venv-peers/bin/python, else python3)
#   CONTRAST    a prebuilt `contrast` binary (default: cargo build --release, then target/release/contrast)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
THREADS="${THREADS:-2}"
ITERS="${ITERS:-20}"
PEER_STEP="${PEER_STEP:-scripts/peer_step.py}"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$HOME/venv-peers/bin/python" ]]; then PYTHON="$HOME/venv-peers/bin/python"; else PYTHON=python3; fi
fi
if [[ -z "${CONTRAST:-}" ]]; then
    cargo build --release --quiet
    CONTRAST="$ROOT/target/release/contrast"
fi
[[ -f "$PEER_STEP" ]] || { echo "no PyTorch step script at $PEER_STEP (set PEER_STEP)" >&2; exit 1; }

# The median_step of the line of `model`/sgd in a run's output (ours or PyTorch's).
median() { awk -v m="$1" '$1 == m && /sgd/ { for (i = 1; i <= NF; i++) if ($i ~ /^median_step=/) { v = $i; sub("median_step=", "", v); if (v == "") v = $(i + 1); print v; exit } }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

echo "machine: $(nproc) cores, $(uname -m); threads $THREADS, $ITERS timed steps per run"
for sitting in 1 2; do
    echo
    echo "== sitting $sitting   $(uptime)"
    ours_cnn="$("$CONTRAST" bench step --model cnn --threads "$THREADS" --iters "$ITERS")"
    ours_mlp="$("$CONTRAST" bench step --model mlp --threads "$THREADS" --iters "$ITERS")"
    peer="$("$PYTHON" "$PEER_STEP" --threads "$THREADS" --iters "$ITERS")"
    echo "$ours_cnn"
    echo "$ours_mlp"
    echo "$peer" | grep -E '^torch|sgd'
    cnn=$(echo "$ours_cnn" | median cnn); mlp=$(echo "$ours_mlp" | median mlp)
    peer_cnn=$(echo "$peer" | median cnn); peer_mlp=$(echo "$peer" | median mlp)
    printf 'sitting %s  cnn: ours %8.2f ms  pytorch %8.2f ms  ratio %s   mlp: ours %7.2f ms  pytorch %7.2f ms  ratio %s\n' \
        "$sitting" "$cnn" "$peer_cnn" "$(ratio "$cnn" "$peer_cnn")" "$mlp" "$peer_mlp" "$(ratio "$mlp" "$peer_mlp")"
done
