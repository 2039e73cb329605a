#!/usr/bin/env bash
# Batched decode, two builds side by side (docs/results/batched-decode.md, server.md): the matrix
# kernels at 1-16 tokens (bench_matvec), the library's batched decode (`floe bench --seqs`), and
# floe-serve under load.mjs at 1, 8 and 32 streams. BASE and NEW are build folders (each with
# bench/bench_matvec, samples/floe, samples/floe-serve); the two alternate at every level.
# Usage: batched_decode.sh BASE_BUILD NEW_BUILD MODEL.gguf [MODEL.gguf ...]
set -uo pipefail
base=$1 new=$2
shift 2
here=$(cd "$(dirname "$0")/../.." && pwd)
pick() { [ "$1" = new ] && echo "$new" || echo "$base"; }

echo "== start $(date -u +%FT%TZ) $(uptime)"
echo "== kernels: bench_matvec -t 2 -r 5, 110m shapes"
for n in 1 4 8 16; do
  for which in base new; do
    echo "-- $which tokens $n"
    "$(pick $which)"/bench/bench_matvec -t 2 -r 5 --types f16,q8_0 \
      --shapes 2048x768,768x2048,32000x768 --tokens "$n" 2>&1 | grep -E "^(f16|q8_0|f32) "
  done
done

echo "== library: floe bench -p 0 -n 32 -r 3 -t 2 --seqs S"
for m in "$@"; do
  for round in 1 2; do
    for which in base new; do
      for s in 1 8; do
        echo "-- $which $m seqs $s round $round: $("$(pick $which)"/samples/floe bench -m "$m" \
          -p 0 -n 32 -r 3 -t 2 --seqs "$s" 2>&1 | tail -1)"
      done
    done
  done
done

echo "== server: load.mjs --concurrency 1,8,32,1,8,32 --requests 2 --max-tokens 64"
port=18090
for m in "$@"; do
  for which in new base; do
    port=$((port + 1))
    "$(pick $which)"/samples/floe-serve -m "$m" --port "$port" --parallel 32 -t 2 \
      > /dev/null 2>&1 &
    pid=$!
    for _ in $(seq 100); do
      curl -sf "http://127.0.0.1:$port/health" > /dev/null && break
      sleep 0.2
    done
    echo "-- $which $m"
    node "$here/bench/server/load.mjs" "http://127.0.0.1:$port" --concurrency 1,8,32,1,8,32 \
      --requests 2 --max-tokens 64 --temperature 0.8 2>&1 | grep concurrency
    kill "$pid"
    wait "$pid" 2> /dev/null
  done
done
echo "== end $(date -u +%FT%TZ) $(uptime)"
