#!/usr/bin/env bash
# tools/setup.sh: installs what llx needs on Debian 12, builds it, and optionally tests it.
#
#   tools/setup.sh              install missing packages, configure and build into build/
#   tools/setup.sh --test       ... then run the whole test suite (ctest)
#   tools/setup.sh --sanitize   build with AddressSanitizer + UBSan into build-asan/ and test it
#
# Environment: BUILD_DIR (default build, or build-asan with --sanitize), JOBS (default: nproc),
# LLX_WERROR=ON to turn warnings into errors (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."

test=0 sanitize=0
for arg in "$@"; do
  case "$arg" in
    --test) test=1 ;;
    --sanitize) sanitize=1 test=1 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

packages=(build-essential cmake pkg-config libyaml-dev libhdf5-dev hdf5-tools libgit2-dev
          libjpeg62-turbo-dev libpng-dev libopenblas-dev libcairo2-dev libdnnl-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_dir=${BUILD_DIR:-build}
options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLLX_WERROR="${LLX_WERROR:-OFF}")
if [ $sanitize -eq 1 ]; then
  build_dir=${BUILD_DIR:-build-asan}
  options+=(-DLLX_SANITIZE=ON)
fi
cmake -S . -B "$build_dir" "${options[@]}"
cmake --build "$build_dir" -j "${JOBS:-$(nproc)}"

if [ $test -eq 1 ]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  ctest --test-dir "$build_dir" --output-on-failure -j "${JOBS:-$(nproc)}"
fi
