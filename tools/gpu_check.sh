#!/usr/bin/env bash
# tools/gpu_check.sh: llx's CUDA backend on a GPU machine, in one go, from the repository root:
#
#   1. the machine: GPU, driver, nvcc, python3, torch, cuDNN
#   2. llx's runtime libraries: .gpu/libs.tar.xz and/or .gpu/debs/*.deb (tools/gpu_pack.sh) are
#      unpacked under /tmp/llxroot (never into /) and put on LD_LIBRARY_PATH for llx alone, with
#      the machine's own cuDNN and cuBLAS; `ldd build-gpu/libllx.so` must find everything
#   3. build-gpu/ built elsewhere has that machine's source path compiled in: a symlink from it
#      to here makes it valid (without build-gpu/, it is configured and built here instead)
#   4. ctest -L gpu three times: with the defaults; with the opt-in paths that no GPU has run yet
#      (OPTIN_ENV, now LLX_CUDA_BN=llx: llx's batch-norm kernels), verbose, so that the summary
#      can count convolutions on graph plans; and with the other paths the defaults replaced
#      (LEGACY_ENV: cuDNN's legacy convolution API, cuDNN's max pooling, the zeroing pass over
#      activation gradients), which stay selectable
#   5. training images/s at 112x112, batch 256, of ResNet-18 and LLAM-ResNet-18 (resnet18.yaml,
#      attention none and llam): llx bench --device cuda (its report, with the time per op type,
#      in bench.log) against tools/bench_pytorch.py --device cuda --torchvision (torchvision's
#      resnet18, LLAM set into its blocks; cuDNN autotuning, TF32 convolutions as PyTorch's
#      default and llx's), the same steps and warm-up; one CSV line each in bench.csv. ROUNDS
#      rounds of llx, PyTorch and llx with OPTIN_ENV, then llx with LEGACY_ENV once; in round
#      1 PyTorch also profiles 5 steps (its device time per aten op, in bench.log)
#      Then mixed precision (MIXED=1, the default): llx with train.precision bf16 and fp16 (half
#      convolutions, F32 between ops) against PyTorch's autocast in the same dtype, channels-last
#   6. FER2013 (experiments/fer2013_narrow.yaml) trained with --device cuda on the carried subset,
#      for the epochs of the CPU reference in tools/gpu_check_notes.md, with the defaults, again
#      with OPTIN_ENV, and (MIXED=1) with train.precision=bf16 (all in fer2013_gpu.log; run.h5
#      and history.csv of the first)
#   7. one table: card, images/s of both and their ratio, FER2013 test accuracy GPU vs CPU
#
# A step that fails is reported and the independent steps after it still run; each step has a
# time limit. The exit status is 0 only when every step passed. Logs go to $OUT (at most 8
# files: gpu_check.log, gpu_tests.log, bench.log, bench.csv, fer2013_gpu.log, run.h5,
# history.csv, summary.txt); without OUT, to a new folder under /tmp.
#
# Environment: OUT; PYTHON (python3); DEVICE (cuda; cpu rehearses the whole script on a machine
# without a GPU, e.g. DEVICE=cpu BATCH=2 STEPS=1 WARMUP=0 FER_EPOCHS=1); BATCH (256), STEPS (10),
# WARMUP (3); ROUNDS (2); time limits in seconds: T_TESTS (30 per test run, 3 runs; 8-11 s on
# the H200), T_BENCH (20 per llx benchmark, 4 * ROUNDS + 2 (+ 4 mixed) runs; 3-4 s), T_TORCH
# (45 per PyTorch benchmark, 2 * ROUNDS (+ 4 mixed) runs; 19-24 s, mostly start-up and cuDNN's
# autotuning), T_FER (40 per training run, 2 (+ 1 mixed) runs; 10 s), and DEADLINE (540) for
# the whole script: past it the steps left are skipped and the summary is still written. About
# 4 minutes when nothing hangs, 6 with MIXED=1 (the default; MIXED=0 leaves mixed precision out).
# OPTIN_ENV, LEGACY_ENV (see step 4); LLX_FER2013 (image folders, used when no
# .gpu/fer2013.tar.xz was carried); FER_EPOCHS (default: the CPU reference's).
set -uo pipefail
export PYTHONUNBUFFERED=1 LC_ALL=C

# Internal: gpu_check.sh --tests BUILD LD_LIBRARY_PATH LIMIT_S [verbose] (step 4; verbose: every
# test's output, passing ones too).
if [ "${1:-}" = --tests ]; then
  cd "$2" || exit 2
  verbose=()
  [ "${5:-}" = verbose ] && verbose=(--verbose) && export LLX_TESTS_VERBOSE=1
  if LD_LIBRARY_PATH="$3" ctest --version >/dev/null 2>&1; then
    LD_LIBRARY_PATH="$3" exec ctest -L gpu --no-tests=error --output-on-failure "${verbose[@]}" --timeout "$4"
  fi
  echo "ctest does not start with llx's libraries: running the gpu tests from its listing"
  ctest -L gpu --show-only=json-v1 > tests.json || exit 2
  exec env LLX_LD="$3" LIMIT="$4" "${PYTHON:-python3}" -c '
import json, os, subprocess, sys, time
tests = json.load(open("tests.json"))["tests"]
if not tests:
    sys.exit("no tests with label gpu")
failed = 0
for t in tests:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    env = dict(os.environ, LD_LIBRARY_PATH=os.environ["LLX_LD"])
    env.update(kv.split("=", 1) for kv in props.get("ENVIRONMENT", []))
    t0 = time.time()
    try:
        r = subprocess.run(t["command"], cwd=props.get("WORKING_DIRECTORY"), env=env, timeout=int(os.environ["LIMIT"]),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        code, text = r.returncode, r.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired:
        code, text = "timeout", ""
    skipped = code == props.get("SKIP_RETURN_CODE", -1)
    verdict = "Passed" if code == 0 else "***Skipped" if skipped else "***Failed (%s)" % code
    print("%-28s %s  %.1f s" % (t["name"], verdict, time.time() - t0))
    if code != 0 and not skipped:
        failed += 1
        print(text)
    elif os.environ.get("LLX_TESTS_VERBOSE"):
        print(text)
print("%d of %d gpu tests failed" % (failed, len(tests)))
sys.exit(1 if failed else 0)
'
fi
cd "$(dirname "$0")/.." || exit 2
src=$PWD
build=$src/build-gpu
pack=$src/.gpu
notes=$src/tools/gpu_check_notes.md
python=${PYTHON:-python3}
device=${DEVICE:-cuda} batch=${BATCH:-256} steps=${STEPS:-10} warmup=${WARMUP:-3}
t_tests=${T_TESTS:-30} t_bench=${T_BENCH:-20} t_torch=${T_TORCH:-45} t_fer=${T_FER:-40}
rounds=${ROUNDS:-2} deadline=${DEADLINE:-540} mixed=${MIXED:-1}
optin_env=${OPTIN_ENV-LLX_CUDA_BN=llx}
legacy_env=${LEGACY_ENV-LLX_CUDNN_API=legacy LLX_CUDA_MAXPOOL=cudnn LLX_CUDA_FRESH_GRADS=0}
out=${OUT:-}
if [ -z "$out" ]; then out=$(mktemp -d /tmp/llx-gpu-check.XXXXXX); fi
mkdir -p "$out"
exec > >(tee -a "$out/gpu_check.log") 2>&1
tee_pid=$!
t_start=$(date +%s)
work=$(mktemp -d /tmp/llx-gpu-check-work.XXXXXX) # scratch: $out holds at most 8 files

# untar ARCHIVE.tar.xz DIR: tar, or Python's tarfile where this machine's tar has no xz
untar() {
  tar -xJf "$1" -C "$2" 2>/dev/null ||
    "$python" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$1" "$2"
}
declare -A rc=() secs=()
order=()
hr() { printf '\n===== %s =====\n' "$*"; }
# step NAME LIMIT_S CMD...: runs CMD under timeout, records its status and time.
# Past DEADLINE seconds from the start a step is skipped, and one that would run past it gets
# only the time left, so that the summary is always written.
step() {
  local name=$1 limit=$2 t0 r left
  shift 2
  left=$((deadline - ($(date +%s) - t_start)))
  if [ "$left" -lt 10 ]; then
    skip "$name" "the script's deadline (DEADLINE=${deadline}s) has passed"
    return 1
  fi
  [ "$limit" -le "$left" ] || limit=$left
  hr "$name (limit ${limit}s)"
  t0=$(date +%s)
  timeout -k 10 "$limit" "$@"
  r=$?
  # A test run whose programs skipped (no usable GPU) is no pass on a GPU machine.
  if [ $r -eq 0 ] && grep -q 'Skipped' "$work/$name.tmp" 2>/dev/null; then r=skipped; fi
  rm -f "$work/$name.tmp"
  secs[$name]=$(($(date +%s) - t0))
  rc[$name]=$r
  order+=("$name")
  case $r in
    0) echo "-- $name: ok (${secs[$name]}s)" ;;
    skipped) echo "-- $name: some tests SKIPPED (they found no usable GPU)"; r=1 ;;
    124 | 137) echo "-- $name: TIMED OUT after ${limit}s" ;;
    *) echo "-- $name: FAILED (exit $r, ${secs[$name]}s)" ;;
  esac
  return $r
}
skip() { rc[$1]=skip; secs[$1]=0; order+=("$1"); echo "-- $1: skipped: $2"; }

# ---- 1. the machine ----------------------------------------------------------------------------
hr "machine"
card=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
nvidia-smi -L 2>&1 || echo "nvidia-smi: not available"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null
command -v nvcc >/dev/null || PATH=$PATH:/usr/local/cuda/bin
nvcc --version 2>/dev/null | tail -2 || echo "nvcc: not found"
echo "cmake: $(cmake --version 2>/dev/null | head -1), ninja $(ninja --version 2>/dev/null), $(uname -srm), $(nproc) cores"
torch_info=$("$python" - 2>&1 <<'EOF'
import sys, torch
cuda = torch.cuda.is_available()
print("python %s, torch %s (CUDA %s), cuDNN %s, GPU visible to torch: %s%s" % (
    sys.version.split()[0], torch.__version__, torch.version.cuda, torch.backends.cudnn.version(),
    cuda, " (%s)" % torch.cuda.get_device_name() if cuda else ""))
try:
    import torchvision
    print("torchvision %s" % torchvision.__version__)
except ImportError as e:
    print("torchvision: %s" % e)
EOF
)
echo "$torch_info"
[ -n "$card" ] || card=$(echo "$torch_info" | sed -n 's/.*GPU visible to torch: True (\(.*\))$/\1/p')
card=${card:-no GPU found}

# ---- 2. runtime libraries ----------------------------------------------------------------------
hr "runtime libraries"
root=/tmp/llxroot
libs_ok=1
rm -rf "$root" && mkdir -p "$root"
if [ -f "$pack/libs.tar.xz" ]; then
  if untar "$pack/libs.tar.xz" "$root"; then echo "unpacked $pack/libs.tar.xz"; else libs_ok=0; fi
fi
n_debs=0
for deb in "$pack"/debs/*.deb; do
  [ -f "$deb" ] || continue
  dpkg-deb -x "$deb" "$root" || { echo "dpkg-deb -x $deb failed"; libs_ok=0; }
  n_debs=$((n_debs + 1))
done
[ $n_debs -eq 0 ] || echo "unpacked $n_debs packages from $pack/debs"
llx_ld=$(find "$root" -path '*/lib/*' \( -name '*.so' -o -name '*.so.*' \) -printf '%h\n' 2>/dev/null |
         sort -u | paste -sd: -)

# The machine's cuDNN and cuBLAS: CUDA toolkit folders, the system's, then Python's nvidia wheels.
# First the folder of the cuDNN that PyTorch itself loads, so both sides of the benchmark run the
# same cuDNN (on the H200 of 2026-11-28 the system's was 9.14, PyTorch's wheel 9.19).
cands=()
torch_cudnn=$("$python" - 2>/dev/null <<'EOF2'
import os, torch
torch.backends.cudnn.version()  # loads libcudnn
for line in open("/proc/self/maps"):
    path = line.split()[-1]
    if os.path.basename(path).startswith("libcudnn.so"):
        print(os.path.dirname(path))
        break
EOF2
)
[ -n "$torch_cudnn" ] && cands+=("$torch_cudnn") && echo "PyTorch's cuDNN: $torch_cudnn"
cands+=(/usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib)
for d in /usr/local/cuda-*/lib64 /usr/local/cuda-*/lib /usr/lib/x86_64-linux-gnu; do [ -d "$d" ] && cands+=("$d"); done
while IFS= read -r d; do [ -n "$d" ] && cands+=("$d"); done < <("$python" - 2>/dev/null <<'EOF'
import glob, os
try:
    import nvidia
    for base in nvidia.__path__:
        for f in sorted(glob.glob(os.path.join(base, "**", "lib*.so*"), recursive=True)):
            print(os.path.dirname(f))
except ImportError:
    pass
EOF
)
cuda_dirs=""
# (libnvrtc: cuDNN's runtime-compiled engines load it; without it cuDNN has fewer algorithms.)
for lib in libcudnn.so.9 libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13; do
  found=""
  for d in "${cands[@]}"; do
    if [ -e "$d/$lib" ]; then found="$d/$lib"; break; fi
  done
  if [ -n "$found" ]; then
    echo "$lib: $(readlink -f "$found")"
    case ":$cuda_dirs:" in *":$(dirname "$found"):"*) ;; *) cuda_dirs+="${cuda_dirs:+:}$(dirname "$found")" ;; esac
  else
    echo "$lib: not found on this machine"
  fi
done
drv=""
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do [ -d "$d" ] && drv+=":$d"; done
LLX_LD="${llx_ld}${cuda_dirs:+:$cuda_dirs}${drv}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
LLX_LD=${LLX_LD#:}
echo "LD_LIBRARY_PATH for llx: $LLX_LD"
# llx's programs get these libraries; python3, nvidia-smi and the rest keep the machine's own.
withlibs() { env LD_LIBRARY_PATH="$LLX_LD" "$@"; }

# ---- 3. the build ------------------------------------------------------------------------------
hr "build"
if [ -f "$build/CMakeCache.txt" ]; then
  home=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build/CMakeCache.txt")
  echo "build-gpu was configured in $home; here is $src"
  if [ -n "$home" ] && [ "$home" != "$src" ]; then
    if [ ! -e "$home" ] && [ ! -L "$home" ]; then
      if mkdir -p "$(dirname "$home")" && ln -s "$src" "$home"; then
        echo "symlink $home -> $src"
      else
        echo "WARNING: cannot make the symlink $home -> $src: build-gpu's compiled-in paths stay wrong"
        libs_ok=0
      fi
    elif [ "$(cd "$home" 2>/dev/null && pwd -P)" = "$(pwd -P)" ]; then
      echo "$home already leads here"
    else
      echo "WARNING: $home exists and is another folder: the tests and plugin paths compiled into"
      echo "         build-gpu point there, not here"
      libs_ok=0
    fi
  fi
elif command -v nvcc >/dev/null; then
  echo "no build-gpu/: configuring and building it here (needs llx's Debian packages: tools/setup.sh)"
  step build 900 bash -o pipefail -c "cmake -S '$src' -B '$build' -DCMAKE_BUILD_TYPE=Release -DLLX_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES='80;90' && cmake --build '$build' -j $(nproc)" || libs_ok=0
else
  echo "no build-gpu/ and no nvcc"
  libs_ok=0
fi
llx=$build/llx
if [ -f "$build/libllx.so" ]; then
  missing=$(withlibs ldd "$build/libllx.so" "$llx" "$build"/plugins/*.so 2>&1 | grep 'not found' | sort -u)
  withlibs ldd "$build/libllx.so" | grep -E 'cudnn|cublas|cudart|libcuda' | sed 's/ (0x.*//'
  echo "libllx.so: $(withlibs ldd "$build/libllx.so" | grep -c "$root") libraries from $root"
  if [ -n "$missing" ]; then
    echo "MISSING libraries (llx cannot start):"
    echo "$missing"
    libs_ok=0
  else
    echo "ldd: every library of libllx.so, llx and the plugins found"
    plugins=$(withlibs "$llx" plugins 2>&1) || libs_ok=0
    echo "$plugins" | sed -n '1,12p'
  fi
else
  echo "no $build/libllx.so"
  libs_ok=0
fi

# ---- 4. GPU tests ------------------------------------------------------------------------------
# ctest runs with llx's libraries on its path (the tests inherit its environment), unless that
# breaks this machine's ctest: then the gpu tests run one by one from ctest's listing (--tests).
if [ $libs_ok -eq 1 ]; then
  # The GPU tests with the defaults, again with OPTIN_ENV, verbose (every test's output, and
  # each convolution's plan, so that the summary can count the problems that really ran on
  # graph plans: one the graph API cannot do falls back to the legacy API, which would pass
  # too), then with LEGACY_ENV. A failing op case names its op; test_gpu_ops checks every
  # kernel's fresh path whatever the switches say.
  # test_tail NAME ENV VERBOSE: the run's output goes to gpu_tests.log as it comes (kept when
  # the run times out) and to $work/NAME.tmp (read by step for skips); its end to the console.
  : > "$out/gpu_tests.log"
  test_tail() {
    echo "== $1 (${2:-the defaults})" >> "$out/gpu_tests.log"
    step "$1" "$t_tests" bash -o pipefail -c "env $2 LLX_CUDA_VERBOSE=$3 bash '$src/tools/gpu_check.sh' --tests \
      '$build' '$LLX_LD' $t_tests $([ "$3" = 1 ] && echo verbose) 2>&1 | tee '$work/$1.tmp' | \
      tee -a '$out/gpu_tests.log' | grep -v 'llx cuda: conv2d' | tail -40"
  }
  test_tail gpu_tests "" 0
  test_tail gpu_tests_optin "$optin_env" 1
  test_tail gpu_tests_legacy "$legacy_env" 0
else
  skip gpu_tests "llx cannot run here (see above)"
fi

# ---- 5. benchmarks -----------------------------------------------------------------------------
echo "system,model,size,batch,train_img_s,infer_img_s,peak_mib (llx: device memory it allocated, cuDNN scratch included; torch: max_memory_allocated)" \
  > "$out/bench.csv"
# bench_llx SYSTEM ATTENTION [VAR=VALUE...]: llx bench with those variables set (its full report,
# with the time per op type and, under LLX_CUDA_VERBOSE, the convolution engines chosen, goes to
# bench.log) and LLX_ARGS (e.g. --set train.precision=bf16) added to its arguments;
# bench_torch ATTENTION SYSTEM [ARGS...]: tools/bench_pytorch.py with those arguments
# (round 1: --profile 5, PyTorch's device time per aten op, beside llx's time per op type in
# bench.log). One CSV line each goes to bench.csv:
# SYSTEM,resnet18-<attention>,112,<batch>,<train img/s>,<infer img/s>,<peak MiB>.
bench_llx() {
  local system=$1 attn=$2 tmp
  shift 2
  tmp=$(mktemp)
  if [ $libs_ok -eq 1 ]; then
    step "${system}_$attn" "$t_bench" bash -o pipefail -c "env LD_LIBRARY_PATH='$LLX_LD' $* '$llx' bench \
      '$src/experiments/resnet18.yaml' --set attention=$attn --set size=112 --device $device --batch $batch \
      --steps $steps --warmup $warmup ${LLX_ARGS:-} 2>&1 | tee '$tmp'"
    awk -v s="$system" -v a="$attn" -v b="$batch" '
      $1 == "train" && NF == 3 {t = $2}
      $1 == "inference" && NF == 3 {i = $2}
      /^memory: peak RSS/ && match($0, /held by llx at most [0-9.]+/) {p = substr($0, RSTART + 20, RLENGTH - 20)}
      END {if (t != "") printf "%s,resnet18-%s,112,%s,%s,%s,%s\n", s, a, b, t, i, p}' "$tmp" >> "$out/bench.csv"
    { echo "== $system $attn ($*)"; cat "$tmp"; } >> "$out/bench.log"
  else
    skip "${system}_$attn" "llx cannot run here"
  fi
  rm -f "$tmp"
}
bench_torch() {
  local attn=$1 system=$2 tmp
  shift 2
  tmp=$(mktemp)
  step "${system}_$attn" "$t_torch" bash -o pipefail -c "'$python' '$src/tools/bench_pytorch.py' --device $device --torchvision \
    --model resnet18 --attention $attn --size 112 --batch $batch --steps $steps --warmup $warmup $* 2>&1 | tee '$tmp'"
  grep '^torch,' "$tmp" | sed "s/^torch,/$system,/" >> "$out/bench.csv"
  { echo "== $system $attn"; cat "$tmp"; } >> "$out/bench.log"
  rm -f "$tmp"
}
# Rounds of llx, PyTorch and llx with OPTIN_ENV per network (PyTorch's rate moved by 7 %
# between two H200 sessions: the rounds show the spread within one), then the replaced paths.
for r in $(seq 1 "$rounds"); do
  for attn in none llam; do
    bench_llx llx$r $attn LLX_CUDA_VERBOSE=$([ "$r" = 1 ] && echo 1 || echo 0)
    bench_torch $attn torch$r $([ "$r" = 1 ] && echo --profile 5)
    bench_llx llx-optin$r $attn $optin_env
  done
done
for attn in none llam; do bench_llx llx-legacy $attn $legacy_env; done
# Mixed precision: llx's half convolutions (train.precision; fp16 with dynamic loss scaling)
# against PyTorch's autocast in the same dtype, channels-last (fp16 with its GradScaler).
precisions=()
[ "$mixed" = 1 ] && precisions=(bf16 fp16)
for p in "${precisions[@]}"; do
  for attn in none llam; do
    LLX_ARGS="--set train.precision=$p" bench_llx "llx-$p" $attn
    bench_torch $attn "torch-$p" --amp $p --channels-last
  done
done
# training images/s of SYSTEM (llx|torch) for MODEL (resnet18-none|resnet18-llam)
rate() { awk -F, -v s="$1" -v m="$2" '$1 == s && $2 == m {print $5}' "$out/bench.csv" | tail -1; }
# A / B with two decimals, or - when either is missing
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0 && b > 0) printf "%.2f", a / b; else print "-"}'; }
# lines of FILE matching the basic regular expression PATTERN (0 without FILE)
count() { local n; n=$(grep -c "$1" "$2" 2>/dev/null); echo "${n:-0}"; }

# ---- 6. FER2013 on the GPU ---------------------------------------------------------------------
# The data: the carried subset (its SUBSET.txt says which), else LLX_FER2013 (all of it). The CPU
# reference: the line of tools/gpu_check_notes.md for the same subset, which also gives the epochs.
fer_root="" every=1
if [ -f "$pack/fer2013.tar.xz" ]; then
  rm -rf /tmp/llxdata && mkdir -p /tmp/llxdata && untar "$pack/fer2013.tar.xz" /tmp/llxdata &&
    fer_root=/tmp/llxdata/fer2013
  every=$(sed -n 's/^train_every=//p' "$fer_root/SUBSET.txt" 2>/dev/null)
elif [ -n "${LLX_FER2013:-}" ] && [ -d "$LLX_FER2013/train" ]; then
  fer_root=$LLX_FER2013
fi
ref=$(grep -m1 "^cpu_reference train_every=${every:-?} " "$notes" 2>/dev/null)
[ -n "$ref" ] || echo "WARNING: no CPU reference for 1 training image in ${every:-?} in $notes"
# refv KEY [LINE]: KEY's value in the reference line (LINE: another one, e.g. $ref_bf16)
refv() { echo "${2-$ref}" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# the CPU's run of the same recipe with train.precision=bf16, for fer2013_bf16
ref_bf16=$(grep -m1 "^cpu_reference_bf16 train_every=${every:-?} " "$notes" 2>/dev/null)
epochs=${FER_EPOCHS:-$(refv epochs)}
epochs=${epochs:-5}
[ "$epochs" = "$(refv epochs)" ] || echo "WARNING: $epochs epochs, the CPU reference ran $(refv epochs)"
fer_note="train 1 in ${every:-?}"
declare -A fer_acc=() fer_f1=()
# fer_run NAME [VAR=VALUE...]: trains with those variables set; the log goes to fer2013_gpu.log
# (appended), the test accuracy and macro-F1 to fer_acc[NAME] and fer_f1[NAME]; run.h5 and
# history.csv of the first run to $out. FER_ARGS: more arguments of llx run.
fer_run() {
  local name=$1 runs tmp line run_dir
  shift
  if [ -z "$fer_root" ]; then skip "$name" "no .gpu/fer2013.tar.xz and no LLX_FER2013"; return; fi
  if [ $libs_ok -ne 1 ]; then skip "$name" "llx cannot run here"; return; fi
  runs=$(mktemp -d /tmp/llx-fer-runs.XXXXXX) tmp=$(mktemp)
  # SIGTERM at the limit: llx stops cleanly and run.h5 keeps the finished epochs.
  step "$name" "$t_fer" bash -o pipefail -c "env LD_LIBRARY_PATH='$LLX_LD' LLX_FER2013='$fer_root' $* '$llx' run \
    '$src/experiments/fer2013_narrow.yaml' --set train.epochs=$epochs --device $device --out '$runs' ${FER_ARGS:-} \
    2>&1 | tee '$tmp'"
  { echo "== $name ($*)"; cat "$tmp"; } >> "$out/fer2013_gpu.log"
  run_dir=$(dirname "$(find "$runs" -name run.h5 | head -1)")
  if [ "$name" = fer2013 ]; then
    [ -f "$run_dir/run.h5" ] && cp "$run_dir/run.h5" "$out/"
    [ -f "$run_dir/history.csv" ] && cp "$run_dir/history.csv" "$out/"
  fi
  line=$(grep '^test: accuracy' "$tmp" | tail -1)
  if [ -n "$line" ]; then
    fer_acc[$name]=$(echo "$line" | awk '{printf "%.1f", 100 * $3}')
    fer_f1[$name]=$(echo "$line" | awk '{print $5}')
  fi
  rm -rf "$tmp" "$runs"
}
fer_run fer2013
fer_run fer2013_optin $optin_env
fer_names=(fer2013 fer2013_optin)
if [ "$mixed" = 1 ]; then
  FER_ARGS="--set train.precision=bf16" fer_run fer2013_bf16
  fer_names+=(fer2013_bf16)
fi

# ---- 7. the table ------------------------------------------------------------------------------
{
  hr "summary"
  echo "card: $card; device $device, batch $batch, 112x112, fp32 + TF32, median of $steps steps after $warmup warm-up"
  printf '%-22s %5s %10s %10s %7s   %s\n' "training images/s" round llx PyTorch llx/PT "llx with OPTIN_ENV ($optin_env) (/PT)"
  for m in "ResNet-18:resnet18-none" "LLAM-ResNet-18:resnet18-llam"; do
    for r in $(seq 1 "$rounds"); do
      l=$(rate "llx$r" "${m#*:}") t=$(rate "torch$r" "${m#*:}") o=$(rate "llx-optin$r" "${m#*:}")
      printf '%-22s %5s %10s %10s %7s   %s (%s)\n' "${m%%:*}" "$r" "${l:--}" "${t:--}" "$(ratio "$l" "$t")" \
        "${o:--}" "$(ratio "$o" "$t")"
    done
    printf '%-22s %5s %10s   (the paths replaced: %s)\n' "${m%%:*}" legacy "$(rate llx-legacy "${m#*:}")" "$legacy_env"
    for p in "${precisions[@]}"; do
      l=$(rate "llx-$p" "${m#*:}") t=$(rate "torch-$p" "${m#*:}")
      printf '%-22s %5s %10s %10s %7s   (llx: %s convolutions, F32 between ops; PyTorch: autocast %s, channels-last)\n' \
        "${m%%:*}" "$p" "${l:--}" "${t:--}" "$(ratio "$l" "$t")" "$p" "$p"
    done
  done
  for name in "${fer_names[@]}"; do
    printf 'FER2013 narrow (%s), %s epochs, %s: test (PrivateTest) accuracy %s%% (macro-F1 %s) on %s in %ss\n' \
      "$name" "$epochs" "${fer_note:-no data}" "${fer_acc[$name]:--}" "${fer_f1[$name]:--}" "$device" "${secs[$name]:--}"
  done
  printf '  CPU reference %s%% (macro-F1 %s, %s epochs, 1 in %s, %s s on %s)\n' "$(refv accuracy)" \
    "$(refv macro_f1)" "$(refv epochs)" "$(refv train_every)" "$(refv seconds)" "$(refv machine)"
  [ "$mixed" = 1 ] && [ -n "$ref_bf16" ] &&
    printf '  CPU reference with train.precision=bf16 %s%% (macro-F1 %s, %s epochs, 1 in %s)\n' \
      "$(refv accuracy "$ref_bf16")" "$(refv macro_f1 "$ref_bf16")" "$(refv epochs "$ref_bf16")" \
      "$(refv train_every "$ref_bf16")"
  fell='graph API unusable\|graph plan not runnable'
  printf 'graph API: %s convolution problems on graph plans in the verbose test run (%s fell back to legacy), %s in the benchmarks (%s fell back)\n' \
    "$(count 'graph engine' "$out/gpu_tests.log")" "$(count "$fell" "$out/gpu_tests.log")" \
    "$(count 'graph engine' "$out/bench.log")" "$(count "$fell" "$out/bench.log")"
  printf 'steps:'
  for s in "${order[@]}"; do
    case ${rc[$s]} in 0) v=ok ;; skip) v=skipped ;; skipped) v=SKIPPED-TESTS ;; 124 | 137) v=TIMEOUT ;; *) v="FAIL(${rc[$s]})" ;; esac
    printf ' %s %s %ss;' "$s" "$v" "${secs[$s]}"
  done
  printf ' total %ss\n' "$(($(date +%s) - t_start))"
} | tee "$out/summary.txt"

bad=0
for s in "${order[@]}"; do [ "${rc[$s]}" = 0 ] || bad=1; done
[ $libs_ok -eq 1 ] || bad=1
rm -rf "$work"
exec >&- 2>&-
wait "$tee_pid" 2>/dev/null
exit $bad
