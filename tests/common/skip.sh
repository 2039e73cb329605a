# Sourced by script tests: floe_skip NAME WHY ends the test. Allowed (FLOE_TEST_ALLOW_SKIP lists
# NAME, comma-separated, or "all"): prints "floe test: skipped NAME: WHY", appends it to
# $FLOE_TEST_SKIP_LOG when set, and exits 77 (CTest's SKIP_RETURN_CODE for these tests).
# Not allowed: prints why and exits 1, so a capability that was not checked fails the suite
# (issue 29 item 5; the C++ side is tests/common/skips.h).
floe_skip() {
  local name=$1 why=$2 item
  local -a allow
  IFS=, read -r -a allow <<<"${FLOE_TEST_ALLOW_SKIP:-}"
  for item in "${allow[@]}"; do
    if [[ $item == "$name" || $item == all ]]; then
      echo "floe test: skipped $name: $why" >&2
      [[ -n ${FLOE_TEST_SKIP_LOG:-} ]] && echo "floe test: skipped $name: $why" >>"$FLOE_TEST_SKIP_LOG"
      exit 77
    fi
  done
  echo "FAIL: cannot check $name here: $why (set FLOE_TEST_ALLOW_SKIP=$name to accept)" >&2
  exit 1
}
