#!/usr/bin/env bash
# tools/fer2013_subset.sh SRC DST [EVERY]: a deterministic subset of the FER2013 image folders.
#
#   SRC    FER2013 in folder form (train/<class>/*.jpg, test/<class>/{PublicTest,PrivateTest}_*.jpg)
#   DST    new folder (must not exist), written with copies of the chosen files
#   EVERY  keep every EVERY-th training image of each class, in byte-order (LC_ALL=C) of the
#          file names, starting with the first (default 2; 1 copies all of train)
#
# All of test/ is kept (PublicTest selects the epoch, PrivateTest is reported), so scores stay
# comparable with full-data runs; only the training set shrinks. tools/gpu_pack.sh carries such
# a subset to the GPU machine, and the CPU reference in tools/gpu_check_notes.md was trained on
# the same subset. The images are research-use data: never commit them.
set -euo pipefail
export LC_ALL=C

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  sed -n '2,12p' "$0" >&2
  exit 2
fi
src=$1 dst=$2 every=${3:-2}
case "$every" in '' | *[!0-9]* | 0) echo "fer2013_subset: EVERY must be a positive integer, not '$every'" >&2; exit 2 ;; esac
if [ ! -d "$src/train" ] || [ ! -d "$src/test" ]; then
  echo "fer2013_subset: $src has no train/ and test/ folders" >&2
  exit 1
fi
[ ! -e "$dst" ] || { echo "fer2013_subset: $dst exists; remove it first" >&2; exit 1; }

mkdir -p "$dst/train"
cp -r "$src/test" "$dst/test"
[ ! -f "$src/SOURCE.txt" ] || cp "$src/SOURCE.txt" "$dst/"
total=0 kept=0
for dir in "$src"/train/*/; do
  class=$(basename "$dir")
  mkdir -p "$dst/train/$class"
  # every EVERY-th name of the sorted listing: lines 1, 1+EVERY, 1+2*EVERY, ...
  n=0 k=0
  while IFS= read -r f; do
    if [ $((n % every)) -eq 0 ]; then
      cp "$dir$f" "$dst/train/$class/"
      k=$((k + 1))
    fi
    n=$((n + 1))
  done < <(find "$dir" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' | sort)
  total=$((total + n)) kept=$((kept + k))
done
printf 'train_every=%s\ntrain_images=%s of %s\ntest_images=%s\n' "$every" "$kept" "$total" \
  "$(find "$dst/test" -type f -name '*.jpg' | wc -l)" > "$dst/SUBSET.txt"
echo "fer2013_subset: $dst: 1 training image in $every per class, $kept of $total; all of test"
