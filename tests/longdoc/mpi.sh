#!/usr/bin/env bash
# floe longdoc score under `mpirun -np 2` (built with -DFLOE_WITH_MPI=ON): the two ranks share the
# documents and rank 0 merges their parts; the merged file is byte-identical to one process's.
# Usage: mpi.sh FLOE_BINARY DATA_DIR MPIEXEC
set -euo pipefail
floe=$1 data=$2 mpiexec=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$data/models/llama2c/stories260K.bin tok=$data/models/llama2c/tok512.bin
mkdir "$tmp/docs"
for i in 1 2 3 4 5; do
  head -c $((i * 700)) "$data/corpora/tinystories-valid-head.txt" | tail -c 700 >"$tmp/docs/$i.txt"
done
: >"$tmp/docs/6-empty.txt"
args=(-m "$model" -z "$tok" -t 1 --no-progress --per-token "$tmp/docs")
"$floe" longdoc score "${args[@]}" -o "$tmp/one.jsonl"
root=()
[[ $(id -u) -eq 0 ]] && root=(--allow-run-as-root)
"$mpiexec" "${root[@]}" --oversubscribe -np 2 "$floe" longdoc score "${args[@]}" -o "$tmp/two.jsonl" \
  2>"$tmp/two.err"
cat "$tmp/two.err"
grep -q "rank 0 of 2: 3 of 6 documents" "$tmp/two.err"
grep -q "rank 1 of 2: 3 of 6 documents" "$tmp/two.err"
cmp "$tmp/one.jsonl" "$tmp/two.jsonl"
test "$(wc -l <"$tmp/two.jsonl")" -eq 6
if ls "$tmp"/two.jsonl.rank* 2>/dev/null; then exit 1; fi  # parts removed after the merge
echo "longdoc mpi checks passed"
