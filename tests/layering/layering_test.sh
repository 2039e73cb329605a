#!/usr/bin/env bash
# The layering check passes on the tree, and fails, naming the file, when an upward include is
# added (to a copy of the sources: platform/ including runtime/, a model including samples/).
set -euo pipefail
repo=$1
check=$repo/.ci/check-layers
bash "$check" "$repo"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$repo" && find platform attention models runtime samples bench tests -type f \
   \( -name '*.h' -o -name '*.cc' -o -name '*.c' -o -name '*.inc' \) -print0 |
   xargs -0 cp --parents -t "$tmp")
bash "$check" "$tmp" >/dev/null  # the copy is as clean as the tree

expect_failure() {  # FILE HEADER: adding `#include "HEADER"` to FILE must fail the check
  local file=$1 header=$2
  cp "$tmp/$file" "$tmp/$file.orig"
  printf '#include "%s"\n' "$header" >>"$tmp/$file"
  if out=$(bash "$check" "$tmp" 2>&1); then
    echo "FAIL: check-layers accepted $file including $header" >&2
    exit 1
  fi
  grep -q "^$file:[0-9]*: .*'$header'" <<<"$out" || {
    echo "FAIL: check-layers did not name $file: $out" >&2
    exit 1
  }
  mv "$tmp/$file.orig" "$tmp/$file"
  echo "rejected: $file including $header"
}
expect_failure platform/base/status.cc runtime/engine/model.h
expect_failure attention/dense/kv_cache.cc models/causal_lm.h
expect_failure models/causal_lm.cc runtime/engine/session.h
expect_failure runtime/engine/session.cc samples/floe/commands.h
expect_failure samples/floe/main.cc bench/common/bench_util.h
echo "layering: 5 upward includes rejected, the tree accepted"
