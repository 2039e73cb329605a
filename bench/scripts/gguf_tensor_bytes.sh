#!/usr/bin/env bash
# Compares two GGUF files tensor by tensor: for every tensor of A, its type in A and B and whether
# its bytes equal B's. Byte ranges come from `floe inspect` (data section start + the tensor's
# offset, its size). Used to check `floe quantize` against llama-quantize
# (docs/quantization.md). Exit status 1 if any tensor of the same type and size differs.
# Usage: gguf_tensor_bytes.sh FLOE_BINARY A.gguf B.gguf
set -euo pipefail
floe=$1 a=$2 b=$3
table() {  # one line per tensor: name type absolute_offset bytes
  "$floe" inspect "$1" | awk '
    /data section at byte/ { for (i = 1; i <= NF; ++i) if ($i == "byte") base = $(i + 1) + 0 }
    / offset [0-9]+  [0-9]+ bytes$/ { print $1, $2, base + $(NF - 2), $(NF - 1) }'
}
declare -A btype boff bsize
while read -r name type off size; do
  btype[$name]=$type boff[$name]=$off bsize[$name]=$size
done < <(table "$b")
differ=0
while read -r name type off size; do
  if [ -z "${btype[$name]:-}" ]; then
    echo "$name: not in $b"
  elif [ "$type" != "${btype[$name]}" ] || [ "$size" != "${bsize[$name]}" ]; then
    echo "$name: $type vs ${btype[$name]} (not compared)"
  elif cmp -s <(tail -c +$((off + 1)) "$a" | head -c "$size") \
              <(tail -c +$((${boff[$name]} + 1)) "$b" | head -c "$size"); then
    echo "$name: $type, $size bytes equal"
  else
    echo "$name: $type, $size bytes DIFFER"
    differ=1
  fi
done < <(table "$a")
exit $differ
