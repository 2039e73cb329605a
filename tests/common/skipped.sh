#!/usr/bin/env bash
# A CTest entry for a capability this build leaves out (see tests/common/skip.sh): it fails
# unless FLOE_TEST_ALLOW_SKIP names it. Usage: skipped.sh NAME WHY
set -euo pipefail
source "$(dirname "$0")/skip.sh"
floe_skip "$1" "$2"
