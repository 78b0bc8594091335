#!/usr/bin/env bash
# Regenerates the embedded Bible slice from the installed SWORD modules and its checksum.
# Needs: apt-get install sword-text-kjv sword-text-web sword-text-sparv
set -euo pipefail
cd "$(dirname "$0")"
cargo run --release -q -p contrast-text --example make_bible_slice -- bible-slice.tsv.gz
sha256sum bible-slice.tsv.gz > SHA256SUMS
cat SHA256SUMS
