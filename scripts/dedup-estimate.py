#!/usr/bin/env python3
"""dedup-estimate.py ARCHIVE [LEVEL...]: what file-level dedup across layers would save.

ARCHIVE is an uncompressed docker-archive (`fakeharbor images -o`, the floor of make bench).
Every distinct layer is read in manifest order; a regular file whose content (sha256) already
appeared, in that layer or an earlier one, is a duplicate. The script prints how many bytes are
duplicates, then for each zstd LEVEL (default 3 and 15) the sum of per-layer `zstd -LEVEL` sizes
of the layers as they are and with every duplicate's body removed (its tar header kept): what a
payload that stores each file once, compressed layer by layer, would weigh. Compare with the
limit anchor `zstd -19 --long=27` of the whole archive (make bench's size.anchor.zstd).

It measures an idea for issue 14 (builder/BENCHMARKS.md "Size on real software"); bundle does not
dedup files yet. Needs the zstd command; works in a temporary directory it removes.
"""
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def zstd_size(path, level):
    out = subprocess.run(["zstd", "-q", f"-{level}", "-T1", "-c", str(path)], check=True, stdout=subprocess.PIPE)
    return len(out.stdout)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip().splitlines()[0])
    levels = sys.argv[2:] or ["3", "15"]
    outer = tarfile.open(sys.argv[1])
    layers = []
    for image in json.load(outer.extractfile("manifest.json")):
        for layer in image["Layers"]:
            if layer not in layers:
                layers.append(layer)
    seen = set()
    total = dup = files = dup_files = 0
    with tempfile.TemporaryDirectory() as tmp:
        pairs = []
        for i, layer in enumerate(layers):
            as_is = Path(tmp, f"{i:03d}.tar")
            thin = Path(tmp, f"{i:03d}.thin.tar")
            with open(as_is, "wb") as out:
                shutil.copyfileobj(outer.extractfile(layer), out, 1 << 20)
            with tarfile.open(as_is) as src, tarfile.open(thin, "w", format=tarfile.PAX_FORMAT) as dst:
                for m in src:
                    if not m.isreg():
                        dst.addfile(m)
                        continue
                    data = src.extractfile(m).read()
                    files += 1
                    total += len(data)
                    key = hashlib.sha256(data).digest()
                    if data and key in seen:
                        dup += len(data)
                        dup_files += 1
                        stub = tarfile.TarInfo(m.name)
                        stub.mode = m.mode
                        dst.addfile(stub)
                        continue
                    seen.add(key)
                    dst.addfile(m, io.BytesIO(data))
            pairs.append((as_is, thin))
        print(f"{len(layers)} layers, {files} files, {total} bytes; duplicates: {dup_files} files, {dup} bytes ({100.0 * dup / max(total, 1):.1f}%)")
        for level in levels:
            a = sum(zstd_size(p, level) for p, _ in pairs)
            t = sum(zstd_size(p, level) for _, p in pairs)
            print(f"per-layer zstd -{level}: as is {a} bytes, duplicates removed {t} bytes ({t / a:.3f}x)")


if __name__ == "__main__":
    main()
