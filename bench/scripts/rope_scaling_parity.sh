#!/usr/bin/env bash
# floe vs llama.cpp logits on make-model files carrying each RoPE scaling (none, linear, yarn,
# llama3's rope_freqs), at a context beyond the scaling's original length. Produces the table of
# docs/results/rope-scaling.md.
set -euo pipefail

usage() {
  cat >&2 <<'USAGE'
usage: bench/scripts/rope_scaling_parity.sh [-n TOKENS] [-c ORIG_CTX] FLOE_BIN LLAMA_LOGITS

  FLOE_BIN      the floe command (e.g. build/samples/floe)
  LLAMA_LOGITS  a program on llama.cpp's C API, built outside this repository, called as
                  LLAMA_LOGITS MODEL.gguf TOKENS.txt OUT.f32 [BATCH]
                that decodes the token ids of TOKENS.txt (one per line, positions 0.., one
                sequence, no BOS added) BATCH tokens per llama_decode (default: all in one),
                with a float32 KV cache and no flash attention, and writes every position's
                logits as float32 rows of n_vocab
  -n TOKENS     tokens per run (default 96)
  -c ORIG_CTX   the scalings' original context (default 32); the files' context is 2 * TOKENS

Per architecture (llama, qwen2) and scaling it runs
  FLOE_BIN make-model --arch A --preset tiny --context 2*TOKENS [--rope-* flags] -o F
  FLOE_BIN logits -m F --tokens T -o floe.f32              (prefill, chunks of 64)
  FLOE_BIN logits -m F --tokens T --batch 1 -o floe1.f32   (decode, one token per step)
  LLAMA_LOGITS F T llama.f32 and LLAMA_LOGITS F T llama1.f32 1
and prints max |floe - llama.cpp| and top-1 agreement for both, and how far the scaling moves
llama.cpp's logits from the unscaled file's (so a match is not a match of unscaled RoPE).
llama.cpp does not read rope_freqs for qwen2 (it refuses the file): that row is floe only.
USAGE
  exit 2
}

tokens=96
orig=32
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) [[ $# -ge 2 ]] || usage; tokens="$2"; shift 2 ;;
    -c) [[ $# -ge 2 ]] || usage; orig="$2"; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "unknown option: $1" >&2; usage ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ ${#args[@]} -eq 2 ]] || usage
[[ "$tokens" =~ ^[1-9][0-9]*$ && "$orig" =~ ^[1-9][0-9]*$ ]] || usage
floe="${args[0]}"
llama="${args[1]}"
for exe in "$floe" "$llama"; do
  [[ -x "$exe" ]] || { echo "not an executable: $exe" >&2; exit 2; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Token 1 (BOS) then a fixed spread over the tiny preset's 32000 ids.
for ((i = 0; i < tokens; ++i)); do
  if ((i == 0)); then echo 1; else echo $(((i * 7919 + 13) % 32000)); fi
done >"$tmp/tokens.txt"

# "max_abs top1" of two logits files.
compare() {
  "$floe" compare --vocab 32000 "$1" "$2" |
    awk '/^max_abs_diff/ {m = $2} /^top1_agreement/ {t = $2} END {printf "%s %s", m, t}'
}

declare -A flags=(
  [none]=""
  [linear]="--rope-scaling linear --rope-factor 4"
  [yarn]="--rope-scaling yarn --rope-factor 4 --rope-orig-ctx $orig"
  [yarn-attn]="--rope-scaling yarn --rope-factor 4 --rope-orig-ctx $orig --rope-attn-factor 1.5"
  [llama3]="--rope-scaling llama3 --rope-factor 8 --rope-orig-ctx $orig"
)
echo "| arch | scaling | make-model flags | prefill max abs | prefill top-1 | decode max abs | decode top-1 | scaling moves llama.cpp's logits by |"
echo "|---|---|---|---|---|---|---|---|"
for arch in llama qwen2; do
  for s in none linear yarn yarn-attn llama3; do
    f="$tmp/$arch-$s.gguf"
    # shellcheck disable=SC2086
    "$floe" make-model --arch "$arch" --preset tiny --context $((2 * tokens)) ${flags[$s]} \
      -o "$f" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; exit 1; }
    "$floe" logits -m "$f" --tokens "$tmp/tokens.txt" -o "$tmp/floe.f32" 2>/dev/null
    "$floe" logits -m "$f" --tokens "$tmp/tokens.txt" --batch 1 -o "$tmp/floe1.f32" 2>/dev/null
    if ! "$llama" "$f" "$tmp/tokens.txt" "$tmp/$arch-$s-llama.f32" >"$tmp/log" 2>&1; then
      reason=$(grep -m1 -o 'error loading model: .*' "$tmp/log" || echo "llama.cpp failed")
      echo "| $arch | $s | \`${flags[$s]}\` | - | - | - | - | llama.cpp refuses the file ($reason) |"
      continue
    fi
    "$llama" "$f" "$tmp/tokens.txt" "$tmp/llama1.f32" 1 >/dev/null 2>&1
    read -r pm pt <<<"$(compare "$tmp/floe.f32" "$tmp/$arch-$s-llama.f32")"
    read -r dm dt <<<"$(compare "$tmp/floe1.f32" "$tmp/llama1.f32")"
    moved="-"
    if [[ "$s" != none ]]; then
      read -r moved _ <<<"$(compare "$tmp/$arch-none-llama.f32" "$tmp/$arch-$s-llama.f32")"
    fi
    echo "| $arch | $s | \`${flags[$s]}\` | $pm | $pt | $dm | $dt | $moved |"
  done
done
