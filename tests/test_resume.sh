#!/bin/sh
# test_resume.sh SRC BUILD: `llx run --resume` continues a killed run bit for bit.
#
# A tiny experiment (synthetic faces, 16x16, a width-4 ResNet, 4 epochs) is trained once
# without interruption. Then the same experiment is killed with SIGKILL in the middle of
# epoch 2, its folder must still open (h5dump), and --resume must finish it with final
# weights, optimiser state and per-epoch validation figures identical bit for bit to the
# uninterrupted run (h5diff: exact comparison). Then runs killed at random moments (some
# inside a checkpoint or run.h5 write), resumed and killed again, and finally resumed to
# the end, must give the same weights too; SIGTERM stops a run as "stopped".
set -u
src=${1:?usage: test_resume.sh SRC BUILD}
build=${2:?usage: test_resume.sh SRC BUILD}
llx=$build/llx
tmp=$(mktemp -d /tmp/llx_resume_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

check() { # check NAME EXIT-STATUS
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok   $1"
    else failed=$((failed + 1)); echo "FAIL $1"; fi
}

attr() { # attr FILE NAME: a scalar root attribute of an HDF5 file
    h5dump -a "/$2" "$1" 2>/dev/null | awk '/\(0\):/ { sub(/^.*\(0\): */, ""); gsub(/"/, ""); print; exit }'
}

rows() { # rows DIR: epochs in history.csv
    if [ -f "$1/history.csv" ]; then echo $(($(wc -l < "$1/history.csv") - 1)); else echo 0; fi
}

same_weights() { # same_weights DIR: checkpoint_last.h5 equals the reference's, bit for bit
    h5diff -q "$ref/checkpoint_last.h5" "$1/checkpoint_last.h5" /params /params &&
        h5diff -q "$ref/checkpoint_last.h5" "$1/checkpoint_last.h5" /optimizer /optimizer
}

opens() { # opens DIR: every HDF5 file of a run folder is readable
    for f in "$1"/run.h5 "$1"/checkpoint_last.h5 "$1"/checkpoint_best.h5; do
        [ -f "$f" ] || continue
        h5dump -H "$f" > /dev/null 2>&1 || { echo "     cannot read $f"; return 1; }
    done
    return 0
}

cat > "$tmp/tiny.yaml" <<'EOF'
vars:
  width: 4
model:
  input: [1, 16, 16]
  layers:
    - {type: conv2d, name: conv1, out: "${width}", bias: false}
    - {type: batchnorm2d, name: bn1}
    - {type: relu}
    - {type: basic_block, name: layer1.0, out: "${width}", attention: se}
    - {type: basic_block, name: layer2.0, out: 8, stride: 2}
    - {type: global_avgpool}
    - {type: linear, name: fc, out: 7}
data:
  train: {format: synthetic, count: 400, size: 16}
  val: {format: synthetic, count: 140, size: 16}
  size: 16
  channels: 1
  pad: 2
  cache: true
train: {epochs: 4, batch: 16, lr: 0.05, momentum: 0.9, weight_decay: 5e-4, schedule: cosine, warmup_epochs: 0.5, seed: 3}
eval: {select: macro_f1}
EOF

# ---- the reference: uninterrupted ----
"$llx" run "$tmp/tiny.yaml" --threads 2 --out "$tmp/ref" > "$tmp/ref.log" 2>&1
rc=$?
check "uninterrupted run exits 0" $rc
if [ $rc -ne 0 ]; then
    tail -20 "$tmp/ref.log"
    echo "$passed passed, $failed failed"
    exit 1
fi
ref=$(ls -d "$tmp"/ref/tiny-*)
[ "$(attr "$ref/run.h5" state)" = finished ] && [ "$(attr "$ref/run.h5" epochs_done)" = 4 ]
check "reference run.h5: finished, 4 epochs" $?
epoch_s=$(awk -F, 'NR == 3 { print $9 }' "$ref/history.csv") # epoch 2: the images are cached by then
echo "     epoch 2 takes ${epoch_s}s"

# ---- killed in the middle of epoch 2, then resumed ----
# Poll until epoch 1 is in history.csv, wait a third of an epoch, SIGKILL; if the kill came
# too late (a loaded machine), try again sooner.
delay=$(awk -v s="$epoch_s" 'BEGIN { printf "%.3f", s / 3 }')
for attempt in 1 2 3 4; do
    rm -rf "$tmp/kill"
    "$llx" run "$tmp/tiny.yaml" --threads 2 --out "$tmp/kill" > "$tmp/kill.log" 2>&1 &
    pid=$!
    dir=""
    for i in $(seq 1 3000); do # 60 s at most
        dir=$(ls -d "$tmp"/kill/tiny-* 2>/dev/null)
        [ -n "$dir" ] && [ "$(rows "$dir")" -ge 1 ] && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.02
    done
    sleep "$delay"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    done_before=$(attr "$dir/run.h5" epochs_done)
    echo "     attempt $attempt: killed ${delay}s after epoch 1 with $done_before epochs done, state $(attr "$dir/run.h5" state)"
    [ "$done_before" = 1 ] && break
    delay=$(awk -v d="$delay" 'BEGIN { printf "%.3f", d / 3 }')
done
[ "$done_before" = 1 ] && [ "$(attr "$dir/run.h5" state)" = running ]
check "killed during epoch 2 (run.h5: running, 1 epoch done)" $?
opens "$dir"
check "the killed run's folder opens (h5dump -H)" $?
[ "$(attr "$dir/checkpoint_last.h5" epoch)" = 1 ] && [ "$(attr "$dir/checkpoint_last.h5" first_step)" = 0 ]
check "checkpoint_last.h5 holds epoch 1 and the trainer state" $?
"$llx" run --resume "$dir" > "$tmp/resume.log" 2>&1
rc=$?
cat "$tmp/resume.log" | grep -E "resuming|epoch +[0-9]" | sed 's/^/     /'
check "--resume exits 0" $rc
grep -q "resuming .* at epoch 2 of 4" "$tmp/resume.log"
check "--resume continues at epoch 2" $?
[ "$(attr "$dir/run.h5" state)" = finished ] && [ "$(attr "$dir/run.h5" epochs_done)" = 4 ] && [ "$(rows "$dir")" = 4 ]
check "resumed run.h5: finished, 4 epochs; history.csv 4 rows" $?
h5diff -r "$ref/checkpoint_last.h5" "$dir/checkpoint_last.h5" /params /params > "$tmp/diff.txt" 2>&1
rc=$?
grep -c "0 differences found" "$tmp/diff.txt" | sed 's/^/     tensors identical: /'
check "final weights and BN statistics identical bit for bit (h5diff -r /params)" $rc
h5diff -q "$ref/checkpoint_last.h5" "$dir/checkpoint_last.h5" /optimizer /optimizer
check "final SGD velocity identical bit for bit" $?
h5diff -q "$ref/checkpoint_best.h5" "$dir/checkpoint_best.h5" /params /params
check "best checkpoint identical" $?
ok=0
for col in lr train_loss train_accuracy val_loss val_macro_f1 val_confusion; do
    h5diff -q "$ref/run.h5" "$dir/run.h5" "/history/$col" "/history/$col" || { echo "     /history/$col differs"; ok=1; }
done
[ "$(attr "$ref/run.h5" best_epoch)" = "$(attr "$dir/run.h5" best_epoch)" ] || ok=1
check "history (lr, losses, accuracy, F1, confusion) and best epoch identical" $ok
ls "$dir" | grep -q '\.tmp\.'
[ $? -ne 0 ]
check "no temporary file left" $?
"$llx" run --resume "$dir" > "$tmp/again.log" 2>&1 && grep -q "finished already" "$tmp/again.log"
check "--resume of a finished run says so and exits 0" $?

# ---- SIGTERM: stopped, resumable ----
"$llx" run "$tmp/tiny.yaml" --threads 2 --out "$tmp/term" > "$tmp/term.log" 2>&1 &
pid=$!
for i in $(seq 1 600); do
    dir=$(ls -d "$tmp"/term/tiny-* 2>/dev/null)
    [ -n "$dir" ] && [ "$(rows "$dir")" -ge 1 ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
kill -TERM $pid
wait $pid
rc=$?
echo "     exit status $rc, state $(attr "$dir/run.h5" state)"
[ $rc -eq 130 ] && [ "$(attr "$dir/run.h5" state)" = stopped ]
check "SIGTERM: exit 130, run.h5 state stopped" $?
"$llx" run --resume "$dir" > "$tmp/term_resume.log" 2>&1 && same_weights "$dir"
check "a stopped run resumes to the same weights" $?

# ---- killed inside file writes and at random moments, resumed, killed again ----
# With strace, SIGKILL is injected at the Nth pwrite64 (HDF5 writing run.h5 or a checkpoint:
# the temporary file is half written) or at the Nth rename (written, not yet in place);
# without it, at random times. Each run is killed, resumed and killed again, then resumed
# to the end: every folder must open, and the end must be the reference bit for bit.
if strace -f -o /dev/null true > /dev/null 2>&1; then
    injected=1
else
    injected=0
    echo "     no usable strace: random timed kills only"
fi
writes=700
if [ $injected -eq 1 ]; then
    writes=$(strace -f -c -e trace=pwrite64 "$llx" run "$tmp/tiny.yaml" --threads 2 --out "$tmp/count" 2>&1 >/dev/null |
             awk '$NF == "pwrite64" { print $4 }')
    [ -n "$writes" ] || writes=700 # strace missing or its summary unreadable
fi
echo "     a run makes $writes pwrite64 calls"
start_killed() { # start_killed LOG CMD...: runs CMD, killed as chosen by $kind and $n, in the background
    log=$1
    shift
    case $kind in
    pwrite64 | rename) strace -f -o /dev/null -e trace=$kind -e inject=$kind:signal=KILL:when=$n "$@" > "$log" 2>&1 & ;;
    *) "$@" > "$log" 2>&1 & ;;
    esac
    pid=$!
    if [ "$kind" = time ]; then sleep "$n"; kill -9 $pid 2>/dev/null; fi
    wait $pid 2>/dev/null
}
total=$(awk -F, 'NR > 1 { s += $9 } END { printf "%.2f", s + 0.5 }' "$ref/history.csv")
for it in 1 2 3 4 5 6; do
    out="$tmp/rand$it"
    note=""
    dir=""
    for round in 1 2; do
        seed=$(($$ % 1000 * 10 + it * 3 + round))
        if [ $injected -eq 1 ] && [ $it -le 3 ]; then
            kind=pwrite64
            n=$(awk -v w="$writes" -v s="$seed" 'BEGIN { srand(s); printf "%d", 1 + rand() * w * 0.8 }')
        elif [ $injected -eq 1 ] && [ $it -le 4 ]; then
            kind=rename
            n=$(awk -v s="$seed" 'BEGIN { srand(s); printf "%d", 1 + rand() * 12 }')
        else
            kind=time
            n=$(awk -v t="$total" -v s="$seed" 'BEGIN { srand(s); printf "%.2f", 0.2 + rand() * t * 0.7 }')
        fi
        if [ $round -eq 1 ]; then start_killed "$out.log" "$llx" run "$tmp/tiny.yaml" --threads 2 --out "$out"
        else start_killed "$out.r$round.log" "$llx" run --resume "$dir"; fi
        dir=$(ls -d "$out"/tiny-* 2>/dev/null)
        [ -n "$dir" ] && [ -f "$dir/run.h5" ] || break
        note="$note $kind#$n:$(attr "$dir/run.h5" epochs_done)ep,$(ls "$dir" | grep -c '\.tmp\.')tmp"
        opens "$dir" || { note="$note UNREADABLE"; break; }
    done
    if [ -z "$dir" ] || [ ! -f "$dir/run.h5" ]; then
        note="$note (killed before run.h5 existed: a fresh run)"
        rm -rf "$out"
        "$llx" run "$tmp/tiny.yaml" --threads 2 --out "$out" > "$out.log" 2>&1
        dir=$(ls -d "$out"/tiny-*)
    fi
    "$llx" run --resume "$dir" > "$out.final.log" 2>&1
    rc=$?
    echo "     run $it: killed at$note"
    [ $rc -eq 0 ] && [ "$(attr "$dir/run.h5" state)" = finished ] && same_weights "$dir" && [ "$(rows "$dir")" = 4 ] &&
        ! echo "$note" | grep -q UNREADABLE && ! ls "$dir" | grep -q '\.tmp\.'
    check "kills $it ($kind): folders readable after each kill, --resume ends with the reference's weights" $?
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
