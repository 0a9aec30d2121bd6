#!/bin/sh
# test_bench.sh SRC BUILD: smoke test of `llx bench` on a tiny narrow ResNet: the
# report has its headings and positive images/s, and --csv gives one well-formed
# line. Not a timing assertion.
set -u
src=${1:?usage: test_bench.sh SRC BUILD}
build=${2:?usage: test_bench.sh SRC BUILD}
llx=$build/llx
exp=$src/experiments/narrow_resnet.yaml
passed=0
failed=0

check() { # check NAME CONDITION-EXIT-STATUS
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok   $1"
    else failed=$((failed + 1)); echo "FAIL $1"; fi
}

grep -q '^ *size:' "$exp"
check "narrow_resnet.yaml has a size variable" $?

out=$("$llx" bench "$exp" --batch 4 --steps 1 --warmup 0 --set size=24 --threads 1 2>&1)
rc=$?
echo "$out"
check "llx bench exits 0" $rc
for heading in "images/s" "calls/step" "forward ms" "backward ms" "share" "peak RSS" "cpu memory held by llx at most" conv2d; do
    echo "$out" | grep -q "$heading"
    check "report shows '$heading'" $?
done
for pass in train inference; do
    echo "$out" | awk -v p="$pass" '$1 == p && $2 + 0 > 0 { ok = 1 } END { exit !ok }'
    check "$pass images/s is positive" $?
done

csv=$("$llx" bench "$exp" --batch 4 --steps 1 --warmup 0 --set size=24 --threads 1 --csv 2>&1)
echo "$csv"
echo "$csv" | awk -F, 'NF == 6 && $1 == "llx" && $2 == "narrow_resnet" && $3 == 4 && $4 > 0 && $5 > 0 && $6 > 0 { ok = 1 }
                       END { exit !ok }'
check "--csv gives llx,narrow_resnet,4,<train>,<infer>,<MiB>" $?

"$llx" bench "$exp" --device cuda --steps 1 --warmup 0 --batch 2 >/dev/null 2>&1
[ $? -ne 0 ]
check "--device cuda fails cleanly without CUDA" $?

echo "checks: $passed ok, $failed failed"
# one smoke test
if [ "$failed" -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; exit 1; fi
