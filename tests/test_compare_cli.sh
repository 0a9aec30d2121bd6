#!/bin/sh
# test_compare_cli.sh SRC BUILD: `llx compare` and `llx plot` on fixture run folders
# (written by `test_compare --fixtures DIR`: two attention types x two seeds, one running,
# one failed, a truncated, a foreign and a non-HDF5 run.h5) in every output format.
set -u
src=${1:?usage: test_compare_cli.sh SRC BUILD}
build=${2:?usage: test_compare_cli.sh SRC BUILD}
llx=$build/llx
passed=0
failed=0
tmp=$(mktemp -d /tmp/llx_compare_cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

check() { # check NAME CONDITION-EXIT-STATUS
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok   $1"
    else failed=$((failed + 1)); echo "FAIL $1"; fi
}

"$build/tests/test_compare" --fixtures "$tmp/results"
check "fixture runs written" $?

# terminal table: a folder of runs, aligned, best marked, broken runs listed
out=$("$llx" compare "$tmp/results" 2>&1)
check "table: exits 0 despite broken runs" $?
printf "%s\n" "$out"
printf "%s\n" "$out" | grep -q '^llx compare: 4 runs in 2 configurations, mean ± std over seeds; scores (%) from /test'
check "table: title names the grouping and the split" $?
printf "%s\n" "$out" | grep -E -q '^llam +2 +11\.180 +1\.822 +9 +68\.00 ± 2\.83\* +62\.00 ± 1\.41\* +63\.98 ± 0\.01\*'
check "table: llam row, mean ± std, best marked" $?
printf "%s\n" "$out" | awk '/^attention/ { h = index($0, "commit") } /^---/ { r = match($0, /-+$/) } END { exit !(h > 0 && h == r) }'
check "table: header and rule aligned (last column)" $?
for reason in "q-truncated/run.h5: truncated or damaged HDF5 file" "q-foreign/run.h5: not an llx run record" \
              "q-text/run.h5: not an HDF5 file" "q-cbam-s1: failed after epoch 2 of 10: out of memory" \
              "q-se-s1: still running, epoch 3 of 10"; do
    printf "%s\n" "$out" | grep -q "$reason"
    check "table: lists '$reason'" $?
done

# shell globs: the same runs one by one (README.md among them is skipped)
echo "not a run" > "$tmp/results/README.md"
out=$("$llx" compare "$tmp"/results/* --runs --sort accuracy 2>&1)
check "glob, --runs: exits 0" $?
printf "%s\n" "$out" | awk '/^(none|llam) / { print $1 $2 }' | tr '\n' ' ' | grep -q '^llam1 llam2 none2 none1 $'
check "--runs --sort accuracy: one row per run, best first" $?

# markdown
out=$("$llx" compare "$tmp/results" --format markdown --baseline attention=none 2>&1)
check "markdown: exits 0" $?
printf "%s\n" "$out"
printf "%s\n" "$out" | grep -E -q '^\| attention \| n   \| params \(M\) \| MACs \(G\) \| best ep\. \| accuracy \(%\) +\|'
check "markdown: header row" $?
printf "%s\n" "$out" | grep -q '^| --------- | --: | ---------: |'
check "markdown: alignment row" $?
printf "%s\n" "$out" | grep -E -q '\| \*\*68\.00 ± 2\.83\*\* \|.*\| +\+6\.00 \| +\+10\.00 \| +\+8\.68 \|'
check "markdown: best in bold, deltas against attention=none" $?
printf "%s\n" "$out" | grep -q '^- failed: .*q-cbam-s1'
check "markdown: failed run listed" $?

# csv: one header line, then rows; numbers plain
out=$("$llx" compare "$tmp/results" --format csv 2>&1)
check "csv: exits 0" $?
printf "%s\n" "$out"
[ "$(printf "%s\n" "$out" | grep -c '^attention,')" -eq 1 ]
check "csv: one header line" $?
printf "%s\n" "$out" | awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
    $1 == "none" && $col["accuracy"] == "62.0000" && $col["accuracy_std"] == "2.8284" && $col["params"] == 11176512 { ok = 1 }
    END { exit !ok }'
check "csv: none accuracy 62.0000 std 2.8284, params raw" $?
printf "%s\n" "$out" | grep -q '^cbam,.*,failed,,q-cbam-s1,'
check "csv: failed run as a row with its state" $?

# latex
out=$("$llx" compare "$tmp/results" --format latex 2>&1)
check "latex: exits 0" $?
printf "%s\n" "$out"
for rule in '\\toprule' '\\midrule' '\\bottomrule' '\\begin{tabular}' '\\end{tabular}'; do
    printf "%s\n" "$out" | grep -q "^$rule"
    check "latex: $rule" $?
done
printf "%s\n" "$out" | grep -q '^llam & 2 & 11.180 & 1.822 & 9 & \$\\mathbf{68.00 \\pm 2.83}\$'
check "latex: llam row, best in bold" $?

# plots
"$llx" compare "$tmp/results" --plot "$tmp/scores.png" >/dev/null 2>&1
check "compare --plot: exits 0" $?
head -c 8 "$tmp/scores.png" | od -An -c | grep -q 'P   N   G'
check "compare --plot: a PNG" $?
"$llx" plot "$tmp/results/q-llam-s1" >/dev/null 2>&1
check "plot: exits 0" $?
for f in curves confusion; do
    [ "$(wc -c < "$tmp/results/q-llam-s1/$f.png")" -gt 20000 ]
    check "plot: $f.png written" $?
done
"$llx" plot "$tmp/results/q-foreign" >/dev/null 2>&1
[ $? -eq 1 ]
check "plot of a foreign file: exit status 1" $?

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
