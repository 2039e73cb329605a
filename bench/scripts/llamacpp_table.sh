#!/usr/bin/env bash
# floe vs llama.cpp, pp512 and tg128 per model: `floe bench --json` and `llama-bench -o json`
# back to back on each model, then one markdown table of tokens/s and floe/llama.cpp ratios.
# Produces the tables of docs/results/llamacpp-comparison.md.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: bench/scripts/llamacpp_table.sh [-t THREADS] [-r REPS] FLOE_BIN LLAMA_BENCH MODEL.gguf...

  FLOE_BIN     the floe command (e.g. build/samples/floe)
  LLAMA_BENCH  llama.cpp's llama-bench, built outside this repository
  MODEL.gguf   one or more GGUF files both tools load (e.g. from `floe make-model`)
  -t THREADS   threads for both tools (default 2)
  -r REPS      repetitions per test for both tools (default 3)

Per model it runs, in this order:
  FLOE_BIN bench -m MODEL -p 512 -n 128 -t THREADS -r REPS --json
  LLAMA_BENCH -m MODEL -p 512 -n 128 -t THREADS -r REPS -o json
and prints one table row. floe reports the median of its repetitions, llama-bench the mean.
USAGE
  exit 2
}

threads=2
reps=3
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -t) [[ $# -ge 2 ]] || usage; threads="$2"; shift 2 ;;
    -r) [[ $# -ge 2 ]] || usage; reps="$2"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ ${#args[@]} -ge 3 ]] || usage
[[ "$threads" =~ ^[0-9]+$ && "$reps" =~ ^[1-9][0-9]*$ ]] || { echo "-t and -r take positive integers" >&2; usage; }
floe_bin="${args[0]}"
llama_bench="${args[1]}"
models=("${args[@]:2}")
for exe in "$floe_bin" "$llama_bench"; do
  [[ -x "$exe" ]] || { echo "not an executable: $exe" >&2; exit 2; }
done
for m in "${models[@]}"; do
  [[ -f "$m" ]] || { echo "no such model file: $m" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "python3 is needed to read the JSON output" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The machine, for the results page's heading.
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || true)
head=$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo "?")
echo "date $(date -u +%Y-%m-%d); cpu: ${cpu:-?} ($(nproc) cores online); memory: ${mem:-?}"
echo "repository HEAD $head; threads $threads; repetitions $reps; pp512 / tg128, tokens/s"
echo

printf '| model | floe pp512 | llama.cpp pp512 | ratio | floe tg128 | llama.cpp tg128 | ratio | floe GB/s |\n'
printf '|---|---|---|---|---|---|---|---|\n'
for m in "${models[@]}"; do
  "$floe_bin" bench -m "$m" -p 512 -n 128 -t "$threads" -r "$reps" --json >"$tmp/floe.jsonl"
  "$llama_bench" -m "$m" -p 512 -n 128 -t "$threads" -r "$reps" -o json >"$tmp/llama.json"
  python3 - "$m" "$tmp/floe.jsonl" "$tmp/llama.json" <<'PY'
import json, os, re, sys

model, floe_path, llama_path = sys.argv[1:4]

def floe_rows(path):
    # One JSON object per line; read fields by pattern so that a model path with odd
    # characters (printed unescaped) cannot break the parse.
    rows = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.strip()
        if not line.startswith("{"):
            continue
        test = re.search(r'"test":"([^"]*)"', line)
        tps = re.search(r'"tokens_per_s":([0-9.eE+-]+)', line)
        gbps = re.search(r'"achieved_gb_per_s":([0-9.eE+-]+)', line)
        if test and tps:
            rows[test.group(1)] = (float(tps.group(1)), float(gbps.group(1)) if gbps else 0.0)
    return rows

def llama_rate(entries, n_prompt, n_gen):
    for e in entries:
        if e.get("n_prompt") == n_prompt and e.get("n_gen") == n_gen and e.get("n_depth", 0) == 0:
            return float(e["avg_ts"])
    sys.exit(f"llama-bench output has no test with n_prompt={n_prompt} n_gen={n_gen}")

floe = floe_rows(floe_path)
for t in ("pp512", "tg128"):
    if t not in floe:
        sys.exit(f"floe bench output has no {t} line")
text = open(llama_path, encoding="utf-8", errors="replace").read()
start = text.find("[")  # anything llama-bench printed before the array
entries = json.loads(text[start:]) if start >= 0 else []
l_pp = llama_rate(entries, 512, 0)
l_tg = llama_rate(entries, 0, 128)
f_pp, _ = floe["pp512"]
f_tg, f_gbps = floe["tg128"]
name = os.path.basename(model)
if name.endswith(".gguf"):
    name = name[:-5]
print(f"| {name} | {f_pp:.1f} | {l_pp:.1f} | {f_pp / l_pp:.2f}x | {f_tg:.1f} | {l_tg:.1f} | "
      f"{f_tg / l_tg:.2f}x | {f_gbps:.1f} |")
PY
done
