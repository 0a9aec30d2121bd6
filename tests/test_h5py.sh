#!/bin/sh
# test_h5py.sh SRC BUILD: run.h5 is readable without llx, by Python's h5py. A tiny run made
# inside a scratch git repository with a modified tracked file must show the commit, the
# branch, the dirty flag and the diff, the resolved experiment YAML and the per-epoch
# history; a run made outside any checkout records git_commit "" and git_note.
set -u
src=${1:?usage: test_h5py.sh SRC BUILD}
build=${2:?usage: test_h5py.sh SRC BUILD}
llx=$build/llx
py=/usr/bin/python3
if ! "$py" -c 'import h5py' > /dev/null 2>&1; then
    echo "h5py missing: skipped (apt-get install python3-h5py)"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
tmp=$(mktemp -d /tmp/llx_h5py_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
check() { # check NAME EXIT-STATUS
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok   $1"
    else failed=$((failed + 1)); echo "FAIL $1"; fi
}
export GIT_CEILING_DIRECTORIES="$tmp" # /tmp may sit inside a checkout elsewhere
git="git -c user.name=llx -c user.email=llx@example.com -c init.defaultBranch=main -c commit.gpgsign=false"

mkdir -p "$tmp/repo" "$tmp/plain"
cat > "$tmp/repo/tiny.yaml" <<'EOF'
vars:
  width: 4
model:
  input: [1, 16, 16]
  layers:
    - {type: conv2d, name: conv1, out: "${width}", bias: false}
    - {type: batchnorm2d, name: bn1}
    - {type: relu}
    - {type: global_avgpool}
    - {type: linear, name: fc, out: 7}
data:
  train: {format: synthetic, count: 140, size: 16}
  val: {format: synthetic, count: 70, size: 16}
  test: {format: synthetic, count: 70, size: 16}
  size: 16
  channels: 1
train: {epochs: 2, batch: 16, lr: 0.05, seed: 4}
eval: {select: accuracy}
EOF
cp "$tmp/repo/tiny.yaml" "$tmp/plain/tiny.yaml"
(cd "$tmp/repo" && $git init -q . && $git add tiny.yaml && $git commit -q -m tiny) > /dev/null 2>&1
check "scratch git repository" $?
commit=$(cd "$tmp/repo" && git rev-parse HEAD)
sed -i 's/seed: 4}/seed: 4, threads: 2}/' "$tmp/repo/tiny.yaml" # a tracked file modified: dirty

(cd "$tmp/repo" && "$llx" run tiny.yaml --out "$tmp/out" > "$tmp/run.log" 2>&1)
check "llx run in the repository exits 0" $?
run=$(ls -d "$tmp"/out/tiny-*/run.h5)

"$py" - "$run" "$commit" > "$tmp/py.out" 2>&1 <<'EOF'
import sys, h5py
path, commit = sys.argv[1], sys.argv[2]
def s(v):  # fixed-length string attributes come back as bytes
    return v.decode() if isinstance(v, bytes) else str(v)
ok = True
def check(name, cond):
    global ok
    print(("ok   " if cond else "FAIL ") + name)
    ok = ok and bool(cond)
with h5py.File(path, "r") as f:
    a = f.attrs
    check("format llx-run, format_version 1", s(a["format"]) == "llx-run" and int(a["format_version"]) == 1)
    check("git_commit is the repository's HEAD", s(a["git_commit"]) == commit)
    check("git_branch main", s(a["git_branch"]) == "main")
    check("git_dirty 1 with the diff of the tracked file",
          int(a["git_dirty"]) == 1 and "tiny.yaml" in s(a["git_diff"]) and "+train: {epochs: 2, batch: 16, lr: 0.05, seed: 4, threads: 2}" in s(a["git_diff"]))
    check("git_repo is the work tree", s(a["git_repo"]).rstrip("/").endswith("/repo"))
    y = s(a["experiment"])
    check("experiment holds the resolved YAML", "model:" in y and "conv1" in y and "${width}" not in y)
    check("vars holds width: 4", "width: 4" in s(a["vars"]))
    check("state finished, epochs 2 of 2", s(a["state"]) == "finished" and int(a["epochs_done"]) == 2 and int(a["epochs_total"]) == 2)
    check("seed, device, host, times", int(a["seed"]) == 4 and s(a["device"]) == "cpu" and s(a["host"]) != ""
          and s(a["start_time"]).endswith("Z") and s(a["end_time"]).endswith("Z"))
    check("params and macs", int(a["params"]) > 0 and int(a["macs"]) > 0)
    h = f["history"]
    check("history epoch [1, 2]", list(h["epoch"][:]) == [1.0, 2.0])
    cols = ["lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_macro_f1", "val_abaw",
            "val_acc_neutral", "val_f1_surprise", "seconds", "images_per_second"]
    check("every history column has 2 rows", all(h[c].shape == (2,) for c in cols))
    conf = h["val_confusion"][:]
    check("val_confusion (2, 7, 7) with 70 samples each", conf.shape == (2, 7, 7) and int(conf[1].sum()) == 70)
    check("best_epoch and /val_best agree", int(a["best_epoch"]) == int(f["val_best"].attrs["epoch"]))
    check("/test at the best epoch", f["test"]["confusion"].shape == (7, 7) and 0 <= f["test"].attrs["accuracy"] <= 1)
sys.exit(0 if ok else 1)
EOF
rc=$?
cat "$tmp/py.out"
passed=$((passed + $(grep -c '^ok ' "$tmp/py.out")))
failed=$((failed + $(grep -c '^FAIL ' "$tmp/py.out")))
check "h5py reads the commit, the YAML and the history" $rc

(cd "$tmp/plain" && "$llx" run tiny.yaml --out "$tmp/out_plain" --set train.epochs=1 > "$tmp/plain.log" 2>&1)
check "llx run outside a checkout exits 0" $?
"$py" - "$(ls -d "$tmp"/out_plain/tiny-*/run.h5)" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    a = f.attrs
    ok = a["git_commit"] == b"" and a["git_note"] == b"not a git checkout" and int(a["git_dirty"]) == 0
    ok = ok and a["git_repo"] == b"" and list(f["history/epoch"][:]) == [1.0]
sys.exit(0 if ok else 1)
EOF
check "outside a checkout: git_commit \"\", git_note \"not a git checkout\"" $?

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
