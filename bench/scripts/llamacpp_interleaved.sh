#!/usr/bin/env bash
# floe vs llama.cpp in interleaved rounds on one model: each round runs one
# `floe bench -p 0 -n N -r REPS` and one `llama-bench -p 0 -n N -r REPS`, the order alternating
# from round to round (floe first in odd rounds), and prints tokens/s per round. The machine's
# memory bandwidth drifts over minutes; rounds side by side show the drift, one pair hides it.
# Produces the interleaved rounds of docs/results/llamacpp-comparison.md.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: bench/scripts/llamacpp_interleaved.sh [-t THREADS] [-r REPS] [--pp] MODEL ROUNDS N [FLOE_BIN [LLAMA_BENCH]]

  MODEL        a GGUF file both tools load
  ROUNDS       number of rounds (each: one floe run and one llama-bench run)
  N            decode steps per repetition (tgN), or with --pp the prompt length (ppN)
  FLOE_BIN     the floe command; default: $FLOE_BIN, else build/samples/floe
  LLAMA_BENCH  llama.cpp's llama-bench; default: $LLAMA_BENCH (required one way or the other)
  -t THREADS   threads for both tools (default 2)
  -r REPS      repetitions per run for both tools (default 2)
  --pp         time a prefill of N tokens (-p N -n 0) instead of N decode steps (-p 0 -n N)

floe reports the median of its repetitions, llama-bench the mean.
USAGE
  exit 2
}

threads=2
reps=2
mode=tg
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -t) [[ $# -ge 2 ]] || usage; threads="$2"; shift 2 ;;
    -r) [[ $# -ge 2 ]] || usage; reps="$2"; shift 2 ;;
    --pp) mode=pp; shift ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ ${#args[@]} -ge 3 && ${#args[@]} -le 5 ]] || usage
model="${args[0]}"
rounds="${args[1]}"
n="${args[2]}"
floe_bin="${args[3]:-${FLOE_BIN:-build/samples/floe}}"
llama_bench="${args[4]:-${LLAMA_BENCH:-}}"
[[ -n "$llama_bench" ]] || { echo "give LLAMA_BENCH (argument or environment variable)" >&2; usage; }
[[ "$rounds" =~ ^[1-9][0-9]*$ && "$n" =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS and N must be positive integers" >&2; usage; }
[[ "$threads" =~ ^[0-9]+$ && "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "-t and -r take positive integers" >&2; usage; }
[[ -f "$model" ]] || { echo "no such model file: $model" >&2; exit 2; }
for exe in "$floe_bin" "$llama_bench"; do
  [[ -x "$exe" ]] || { echo "not an executable: $exe" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "python3 is needed to read the JSON output" >&2; exit 2; }

if [[ $mode == tg ]]; then
  p=0; g="$n"; test="tg$n"
else
  p="$n"; g=0; test="pp$n"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_floe() {
  "$floe_bin" bench -m "$model" -p "$p" -n "$g" -t "$threads" -r "$reps" --json >"$tmp/floe.jsonl"
  python3 - "$tmp/floe.jsonl" "$test" <<'PY'
import re, sys
path, test = sys.argv[1:3]
for line in open(path, encoding="utf-8", errors="replace"):
    if line.startswith("{") and f'"test":"{test}"' in line:
        print(re.search(r'"tokens_per_s":([0-9.eE+-]+)', line).group(1))
        sys.exit(0)
sys.exit(f"floe bench output has no {test} line")
PY
}

run_llama() {
  "$llama_bench" -m "$model" -p "$p" -n "$g" -t "$threads" -r "$reps" -o json >"$tmp/llama.json"
  python3 - "$tmp/llama.json" "$p" "$g" <<'PY'
import json, sys
path, p, g = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
text = open(path, encoding="utf-8", errors="replace").read()
start = text.find("[")
for e in (json.loads(text[start:]) if start >= 0 else []):
    if e.get("n_prompt") == p and e.get("n_gen") == g:
        print(e["avg_ts"])
        sys.exit(0)
sys.exit(f"llama-bench output has no test with n_prompt={p} n_gen={g}")
PY
}

echo "model $(basename "$model"); $test; threads $threads; repetitions $reps per run; $(date -u +%Y-%m-%dT%H:%MZ)"
echo
printf '| round | order | floe %s tok/s | llama.cpp %s tok/s | floe / llama.cpp |\n' "$test" "$test"
printf '|---|---|---|---|---|\n'
for ((i = 1; i <= rounds; i++)); do
  if ((i % 2 == 1)); then
    order="floe, llama.cpp"
    f=$(run_floe)
    l=$(run_llama)
  else
    order="llama.cpp, floe"
    l=$(run_llama)
    f=$(run_floe)
  fi
  python3 -c 'import sys; i, o, f, l = sys.argv[1:5]; f, l = float(f), float(l); print(f"| {i} | {o} | {f:.1f} | {l:.1f} | {f / l:.2f}x |")' \
    "$i" "$order" "$f" "$l"
done
