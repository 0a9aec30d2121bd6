#!/bin/sh
# bench_compare.sh [BUILD]: llx bench and the same networks in PyTorch
# (tools/bench_pytorch.py) side by side on this machine, on the CPU:
# ResNet-18 at 112x112 (batch 16) and the narrow ResNet at 48x48 (batch 64), each
# without attention and with LLAM. Prints images/s of both and llx / torch.
#   STEPS (default 3), WARMUP (default 1), THREADS (default: the core count) in the environment.
# Both run under the same environment (OMP_*, OPENBLAS_* as set by the caller).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
build=${1:-$src/build}
llx=$build/llx
python=${PYTHON:-/usr/bin/python3}
steps=${STEPS:-3}
warmup=${WARMUP:-1}
threads=${THREADS:-$(nproc)}
[ -x "$llx" ] || { echo "bench_compare: no $llx (build first, or pass the build folder)" >&2; exit 2; }

rows=""
for net in "resnet18 resnet18.yaml 112 16" "narrow narrow_resnet.yaml 48 64"; do
    set -- $net
    model=$1 exp=$2 size=$3 batch=$4
    for attn in none llam; do
        echo "bench_compare: $model $attn (size $size, batch $batch, $steps steps, $threads threads)..." >&2
        l=$("$llx" bench "$src/experiments/$exp" --set size=$size --set attention=$attn --batch "$batch" \
            --steps "$steps" --warmup "$warmup" --threads "$threads" --csv | grep '^llx,')
        t=$("$python" "$here/bench_pytorch.py" --model "$model" --attention "$attn" --size "$size" \
            --batch "$batch" --steps "$steps" --warmup "$warmup" --threads "$threads" | grep '^torch,')
        rows="$rows$model-$attn@$size/b$batch,${l:-llx,?,?,0,0,0},${t:-torch,?,?,?,0,0,0}
"
    done
done

printf '\n%-24s %10s %10s %6s   %10s %10s %6s   %8s %8s\n' "" "train" "" "" "inference" "" "" "peak MiB" ""
printf '%-24s %10s %10s %6s   %10s %10s %6s   %8s %8s\n' network "llx img/s" "torch" ratio "llx img/s" torch ratio llx torch
printf '%s' "$rows" | awk -F, '
    function ratio(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
    { printf "%-24s %10.1f %10.1f %6s   %10.1f %10.1f %6s   %8.0f %8.0f\n", $1, $5, $12, ratio($5, $12),
             $6, $13, ratio($6, $13), $7, $14 }'
echo "(ratio = llx / torch; median of $steps steps after $warmup warm-up, $threads threads, $(uname -m))"
