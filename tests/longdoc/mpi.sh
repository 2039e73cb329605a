#!/usr/bin/env bash
# floe longdoc score under `mpirun -np 2` (built with -DFLOE_WITH_MPI=ON):
#  1. the ranks take documents from a shared counter, largest first, and rank 0 merges their
#     parts: the merged file is byte-identical to one process's;
#  2. a run killed with SIGKILL while both ranks are inside a document (each after a checkpoint
#     of it) and resumed with `mpirun -np 2 ... --resume` gives a byte-identical file too, each
#     rank resuming its own checkpoint;
#  3. resuming it with fewer ranks, or without mpirun, is refused with a clear error.
# Usage: mpi.sh FLOE_BINARY DATA_DIR MPIEXEC
set -euo pipefail
floe=$1 data=$2 mpiexec=$3
tmp=$(mktemp -d)
trap 'pkill -9 -f "$tmp/" 2>/dev/null || true; rm -rf "$tmp"' EXIT
root=()
[[ $(id -u) -eq 0 ]] && root=(--allow-run-as-root)
mpi() { "$mpiexec" "${root[@]}" --oversubscribe "$@"; }

# 1. Six documents of different sizes (one empty).
model=$data/models/llama2c/stories260K.bin tok=$data/models/llama2c/tok512.bin
mkdir "$tmp/docs"
for i in 1 2 3 4 5; do
  head -c $((i * 700)) "$data/corpora/tinystories-valid-head.txt" | tail -c $((i * 200)) >"$tmp/docs/$i.txt"
done
: >"$tmp/docs/6-empty.txt"
args=(-m "$model" -z "$tok" -t 1 --no-progress --per-token "$tmp/docs")
"$floe" longdoc score "${args[@]}" -o "$tmp/one.jsonl"
mpi -np 2 "$floe" longdoc score "${args[@]}" -o "$tmp/two.jsonl" 2>"$tmp/two.err"
cat "$tmp/two.err"
grep -q "rank 0 of 2: 6 documents left, handed out largest first" "$tmp/two.err"
grep -q "rank 1 of 2: 6 documents left, handed out largest first" "$tmp/two.err"
n0=$(sed -n 's/.*rank 0 of 2 scored \([0-9]*\) documents.*/\1/p' "$tmp/two.err")
n1=$(sed -n 's/.*rank 1 of 2 scored \([0-9]*\) documents.*/\1/p' "$tmp/two.err")
test $((n0 + n1)) -eq 6  # each document scored once
cmp "$tmp/one.jsonl" "$tmp/two.jsonl"
test "$(wc -l <"$tmp/two.jsonl")" -eq 6
if ls "$tmp"/two.jsonl.rank* 2>/dev/null; then exit 1; fi  # parts removed after the merge

# 2. Kill and resume. Recurrent model (the checkpoint holds its whole state): two long documents
#    (taken first, one per rank) and two short ones.
model=$data/models/rwkv/tiny-rwkv-6v0-1m-FP32.bin
text=$data/corpora/war-and-peace.txt
mkdir "$tmp/long"
head -c 1500 "$text" >"$tmp/long/a-short.txt"
head -c 29000 "$text" | tail -c 9000 >"$tmp/long/b-long.txt"
head -c 41500 "$text" | tail -c 1500 >"$tmp/long/c-short.txt"
head -c 60000 "$text" | tail -c 9000 >"$tmp/long/d-long.txt"
args=(-m "$model" -t 1 --per-token --checkpoint-every 500 --no-progress "$tmp/long")
"$floe" longdoc score "${args[@]}" -o "$tmp/full.jsonl"
mpi -np 2 "$floe" longdoc score "${args[@]}" -o "$tmp/killed.jsonl" 2>"$tmp/killed.err" &
pid=$!
past() {  # checkpoint.json of rank $1 exists and is past token 2000
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not j["next"]>2000)' \
    "$tmp/killed.jsonl.state/rank$1/checkpoint.json" 2>/dev/null
}
for _ in $(seq 1 1200); do
  if past 0 && past 1; then break; fi
  sleep 0.05
done
pkill -9 -f "$tmp/killed.jsonl" || true
wait $pid 2>/dev/null || true
past 0 && past 1  # both ranks were inside a long document
test ! -e "$tmp/killed.jsonl"  # no merge happened
test "$(cat "$tmp"/killed.jsonl.rank* | wc -l)" -eq 0

# 3. Refused: fewer ranks than the killed run, and no mpirun at all.
if mpi -np 1 "$floe" longdoc score "${args[@]}" -o "$tmp/killed.jsonl" --resume 2>"$tmp/err1"; then
  exit 1
fi
grep -q "started under mpirun; resume it with the same mpirun -np" "$tmp/err1"
if "$floe" longdoc score "${args[@]}" -o "$tmp/killed.jsonl" --resume 2>"$tmp/err2"; then exit 1; fi
grep -q "started under mpirun" "$tmp/err2"

mpi -np 2 "$floe" longdoc score "${args[@]}" -o "$tmp/killed.jsonl" --resume 2>"$tmp/resumed.err"
cat "$tmp/resumed.err"
test "$(grep -c "resuming .*-long.txt at token" "$tmp/resumed.err")" -eq 2  # both, from checkpoints
cmp "$tmp/full.jsonl" "$tmp/killed.jsonl"
test ! -e "$tmp/killed.jsonl.state"  # checkpoints removed with the parts
if ls "$tmp"/killed.jsonl.rank* 2>/dev/null; then exit 1; fi
echo "longdoc mpi checks passed"
