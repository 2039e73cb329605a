#!/usr/bin/env bash
# floe logits evaluates and writes in chunks of rows (docs/allocation-audit.md item 13): with a
# random tiny Llama (`make-model --preset tiny`, vocab 32000: 512 rows of logits per 64 MiB
# chunk), 1100 ids take three chunks. Every row lands in its place: the first 1024 rows equal
# a 1024-id run's bit for bit (the same chunks and prefill batches), the third chunk's rows are
# neither zero nor repeated, and the file has 1100 rows. 4096 ids' logits (500 MiB) are written
# with a peak RSS under 300 MiB. An output path that is not a regular file is refused and left
# alone, and a failed run leaves no file behind.
# Usage: logits_chunks.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$tmp/tiny.gguf
"$floe" make-model --arch llama --preset tiny --type q8_0 -o "$model" >/dev/null
V=32000
python3 -c 'import random; r = random.Random(7); print("\n".join(str(r.randrange(32000)) for _ in range(1100)))' >"$tmp/ids1100.txt"
head -n 1024 "$tmp/ids1100.txt" >"$tmp/ids1024.txt"
"$floe" logits -m "$model" --tokens "$tmp/ids1100.txt" -o "$tmp/l1100.f32"
"$floe" logits -m "$model" --tokens "$tmp/ids1024.txt" -o "$tmp/l1024.f32"
test "$(stat -c %s "$tmp/l1100.f32")" -eq $((1100 * V * 4))
test "$(stat -c %s "$tmp/l1024.f32")" -eq $((1024 * V * 4))
cmp -n $((1024 * V * 4)) "$tmp/l1024.f32" "$tmp/l1100.f32"
# Rows are not all alike (a misplaced chunk would repeat or zero some).
python3 - "$tmp/l1100.f32" <<'PY'
import struct, sys
V = 32000
data = open(sys.argv[1], "rb").read()
rows = [data[r * V * 4:(r * V + 8) * 4] for r in (0, 511, 512, 1023, 1024, 1099)]
assert len(set(rows)) == len(rows), "rows repeat"
assert all(any(struct.unpack("8f", r)) for r in rows), "a zero row"
PY
# Memory holds one chunk: 4096 ids' logits are 500 MiB (4096 x 32000 x 4 B); the run's peak
# RSS stays far below that (the whole-input buffer of before made it exceed it).
"$floe" make-model --arch llama --preset tiny --type q8_0 --context 4096 -o "$tmp/tiny4k.gguf" >/dev/null
python3 -c 'import random; r = random.Random(8); print("\n".join(str(r.randrange(32000)) for _ in range(4096)))' >"$tmp/ids4096.txt"
python3 - "$floe" "$tmp/tiny4k.gguf" "$tmp/ids4096.txt" "$tmp/l4096.f32" <<'PY'
import os, resource, subprocess, sys
floe, model, ids, out = sys.argv[1:]
subprocess.run([floe, "logits", "-m", model, "--tokens", ids, "-o", out], check=True)
assert os.path.getsize(out) == 4096 * 32000 * 4
peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"floe logits, 4096 x 32000 logits (500 MiB): peak RSS {peak_mib:.0f} MiB")
assert peak_mib < 300, peak_mib
PY
if "$floe" logits -m "$model" --tokens "$tmp/ids1024.txt" -o /dev/full 2>"$tmp/e.txt"; then exit 1; fi
grep -q "not a regular file" "$tmp/e.txt"
printf '1\n99999\n' >"$tmp/bad.txt"
if "$floe" logits -m "$model" --tokens "$tmp/bad.txt" -o "$tmp/bad.f32" 2>"$tmp/e2.txt"; then exit 1; fi
test ! -e "$tmp/bad.f32"
echo "logits chunks: ok"
