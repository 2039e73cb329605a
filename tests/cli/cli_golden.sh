#!/usr/bin/env bash
# The CLI prints llama2.c's golden greedy text byte for byte (llama2.c's own test strips the
# one trailing newline its run.c adds; so do we), for the checkpoint and its converted GGUF.
# Usage: cli_golden.sh FLOE_BINARY DATA_DIR
set -euo pipefail
floe=$1 data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$data/models/llama2c/stories260K.bin tok=$data/models/llama2c/tok512.bin
golden=$data/golden/stories260K_greedy_n200.txt
"$floe" generate -m "$model" -z "$tok" --temp 0 -n 200 >"$tmp/out.txt"
head -c -1 "$tmp/out.txt" >"$tmp/stripped.txt"
cmp "$tmp/stripped.txt" "$golden"
"$floe" convert "$model" "$tok" -o "$tmp/model.gguf"
"$floe" inspect "$tmp/model.gguf" >"$tmp/inspect.txt"
grep -q "general.architecture" "$tmp/inspect.txt"
grep -q "blk.4.ffn_down.weight" "$tmp/inspect.txt"
grep -q "^architecture 'llama': floe runs it as Llama family" "$tmp/inspect.txt"
"$floe" generate -m "$tmp/model.gguf" --temp 0 -n 200 >"$tmp/out2.txt"
head -c -1 "$tmp/out2.txt" >"$tmp/stripped2.txt"
cmp "$tmp/stripped2.txt" "$golden"
# logits: one row of 512 floats per token of the token file
printf '1\n403\n407\n' >"$tmp/tokens.txt"
"$floe" logits -m "$tmp/model.gguf" --tokens "$tmp/tokens.txt" -o "$tmp/l.f32"
test "$(stat -c %s "$tmp/l.f32")" -eq $((3 * 512 * 4))
# compare: the checkpoint and its GGUF give identical logits; a perturbed file fails
"$floe" logits -m "$model" -z "$tok" --tokens "$tmp/tokens.txt" -o "$tmp/l_bin.f32"
"$floe" compare "$tmp/l_bin.f32" "$tmp/l.f32" --vocab 512 --max-abs 0 --min-top1 1 >"$tmp/cmp.txt"
grep -q "^PASS" "$tmp/cmp.txt"
printf '1\n403\n408\n' >"$tmp/tokens_other.txt"  # last token differs: its row must differ
"$floe" logits -m "$model" -z "$tok" --tokens "$tmp/tokens_other.txt" -o "$tmp/l_bad.f32"
if "$floe" compare "$tmp/l.f32" "$tmp/l_bad.f32" --vocab 512 --max-abs 0.1 >"$tmp/cmp2.txt"; then exit 1; fi
grep -q "^FAIL" "$tmp/cmp2.txt" && grep -q "(row 2)" "$tmp/cmp2.txt"
if "$floe" compare "$tmp/l.f32" "$tmp/l.f32" --vocab 500 2>/dev/null; then exit 1; fi
# bad input: clear error, non-zero exit, no crash
if "$floe" generate -m /nonexistent -n 5 2>"$tmp/err.txt"; then exit 1; fi
grep -q "no such file" "$tmp/err.txt"
printf 'abc\n' >"$tmp/bad_tokens.txt"
if "$floe" logits -m "$model" --tokens "$tmp/bad_tokens.txt" -o "$tmp/x.f32" 2>/dev/null; then exit 1; fi
# --huge-pages: every mode gives the golden text; a bad value is refused by name
for pages in off advise refault; do
  "$floe" generate -m "$tmp/model.gguf" --temp 0 -n 200 --huge-pages $pages >"$tmp/out_$pages.txt"
  head -c -1 "$tmp/out_$pages.txt" | cmp - "$golden"
done
if "$floe" generate -m "$tmp/model.gguf" -n 5 --huge-pages sometimes 2>"$tmp/err2.txt"; then exit 1; fi
grep -q -- "--huge-pages must be off, advise or refault" "$tmp/err2.txt"
echo "CLI golden checks passed"
