#!/usr/bin/env bash
# Packaging: `cmake --install` gives headers, one libfloe.a, a CMake package and a pkg-config
# file; samples/embed (a C and a C++ app: streaming generation on a worker thread, with
# cancellation) builds out of tree against the installed package and generates the same greedy
# text as the floe CLI; the linked apps need no shared library beyond libc/libm/libstdc++/libgcc,
# and, when floe is built with FAISS (bundled in libfloe.a), FAISS's BLAS, LAPACK and OpenMP
# runtime (libblas3, liblapack3, libgomp1: see docs/packaging.md). No CUDA NEEDED entry or symbol
# in libfloe.a, the floe CLI or the apps, with or without the CUDA module (docs/gpu-parity.md).
# Usage: package_test.sh BUILD_DIR SOURCE_DIR FLOE_CLI DATA_DIR
set -euo pipefail
build=$1 src=$2 floe=$3 data=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
model=$data/models/llama2c/stories260K.bin tok=$data/models/llama2c/tok512.bin

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/floe/floe.h" && test -f "$tmp/prefix/include/floe/floe.hpp"
test -f "$tmp/prefix/lib/libfloe.a" && test -f "$tmp/prefix/lib/cmake/floe/floe-config.cmake"
test -f "$tmp/prefix/lib/pkgconfig/floe.pc"

# The public headers alone compile as C11 and C++20 with warnings as errors.
printf '#include <floe/floe.h>\nint main(void) { return floe_api_version() == FLOE_API_VERSION ? 0 : 1; }\n' >"$tmp/h.c"
cc -std=c11 -Wall -Wextra -Werror -pedantic -I"$tmp/prefix/include" -c "$tmp/h.c" -o "$tmp/h_c.o"
printf '#include <floe/floe.hpp>\nint main() { return floe_api_version() == FLOE_API_VERSION ? 0 : 1; }\n' >"$tmp/h.cc"
c++ -std=c++20 -Wall -Wextra -Werror -I"$tmp/prefix/include" -c "$tmp/h.cc" -o "$tmp/h_cc.o"

# CMake package, out of tree.
cmake -S "$src/samples/embed" -B "$tmp/embed" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/embed" -j2 >/dev/null
# pkg-config, by hand.
PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" cc -std=c11 "$src/samples/embed/embed.c" -o "$tmp/embed_pc" \
  $(PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config --cflags --libs --static floe) -lpthread

prompt="Once upon a time"
"$floe" generate -m "$model" -z "$tok" -p "$prompt" -n 60 --temp 0 >"$tmp/cli.txt" 2>/dev/null
for app in "$tmp/embed/embed_c" "$tmp/embed/embed_cpp" "$tmp/embed_pc"; do
  "$app" "$model" "$tok" "$prompt" 60 >"$tmp/app.txt"
  # The CLI echoes the prompt; the apps print only generated text, then a status line.
  sed '$d' "$tmp/app.txt" | tr -d '\n' >"$tmp/app_text.txt"
  tail -c +$((${#prompt} + 1)) "$tmp/cli.txt" | tr -d '\n' >"$tmp/cli_text.txt"
  if ! cmp -s "$tmp/app_text.txt" "$tmp/cli_text.txt"; then
    echo "$app: generated text differs from the CLI's"; diff "$tmp/app_text.txt" "$tmp/cli_text.txt" || true; exit 1
  fi
done
# Cancellation from the main thread after 5 tokens.
"$tmp/embed/embed_c" "$model" "$tok" "$prompt" 400 5 >"$tmp/cancel.txt"
grep -q "^\[cancelled, " "$tmp/cancel.txt"
"$tmp/embed/embed_cpp" "$model" "$tok" "$prompt" 400 5 >"$tmp/cancel_cpp.txt"
n=$(sed -n 's/^\[\([0-9]*\) tokens.*/\1/p' "$tmp/cancel_cpp.txt")
test "$n" -ge 5 && test "$n" -lt 400

# No shared library beyond libc, libm, libstdc++, libgcc (and the dynamic loader); with FAISS
# also BLAS, LAPACK and libgomp (and only then).
with_faiss=$(sed -n 's/^FLOE_WITH_FAISS:BOOL=//p' "$build/CMakeCache.txt")
for app in "$tmp/embed/embed_c" "$tmp/embed/embed_cpp" "$tmp/embed_pc"; do
  needed=$(readelf -d "$app" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
  echo "$(basename "$app") NEEDED: $(echo $needed)"
  for lib in $needed; do
    case "$lib" in
      libc.so.6|libm.so.6|libstdc++.so.6|libgcc_s.so.1|ld-linux-x86-64.so.2) ;;
      libblas.so.3|liblapack.so.3|libgomp.so.1) [ "$with_faiss" = ON ] || { echo "$app needs $lib without FAISS"; exit 1; } ;;
      *) echo "$app needs $lib"; exit 1 ;;
    esac
  done
  if ldd "$app" | grep -Eq "tbb|hwy|mimalloc|faiss|not found"; then echo "$app: ldd shows a dependency"; ldd "$app"; exit 1; fi
done

# No CUDA anywhere in what applications link or run (docs/gpu-parity.md): libfloe.a defines and
# references no CUDA symbol, and neither the floe CLI nor the apps need a CUDA library, whether
# or not the build made the CUDA module (-DFLOE_CUDA=ON). The module itself, when built, links
# the CUDA runtime statically and needs only the C/C++ runtime (it opens the driver at init).
if nm -A "$tmp/prefix/lib/libfloe.a" 2>/dev/null | grep -Eq ' [UTtDdBbRr] _*(cuda|cu[A-Z])'; then
  echo "libfloe.a has CUDA symbols"; nm -A "$tmp/prefix/lib/libfloe.a" | grep -E ' _*(cuda|cu[A-Z])' | head; exit 1
fi
for app in "$floe" "$tmp/embed/embed_c" "$tmp/embed/embed_cpp" "$tmp/embed_pc"; do
  if readelf -d "$app" | grep -Eiq 'Shared library: \[lib(cuda|cudart|cublas|nvrtc)'; then
    echo "$app has a CUDA NEEDED entry"; readelf -d "$app" | grep NEEDED; exit 1
  fi
done
echo "floe NEEDED: $(readelf -d "$floe" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')(no CUDA)"
module=$(dirname "$floe")/libfloe_cuda.so
if [ -f "$module" ]; then
  needed=$(readelf -d "$module" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
  echo "libfloe_cuda.so NEEDED: $(echo $needed)"
  for lib in $needed; do
    case "$lib" in
      libc.so.6|libm.so.6|libstdc++.so.6|libgcc_s.so.1|ld-linux-x86-64.so.2|libdl.so.2|librt.so.1|libpthread.so.0) ;;
      *) echo "libfloe_cuda.so needs $lib"; exit 1 ;;
    esac
  done
fi
echo "package checks passed"
