#!/usr/bin/env bash
# tools/gpu_pack.sh: prepares, on this Debian 12 machine, what tools/gpu_check.sh needs on a GPU
# machine that has CUDA, cuDNN and PyTorch but none of llx's Debian libraries:
#
#   build-gpu/   llx configured and built here: Release, -DLLX_CUDA=ON, CUDA archs 80;90. Object
#                files and configure's probes are deleted after the build (they only make the
#                carried folder bigger), so every run of this script rebuilds from scratch.
#   .gpu/libs.tar.xz  the libraries the build's programs load (ldd of each ELF file in
#                build-gpu/), from their Debian packages, in the packages' folders with their
#                symlinks. Left out: libc6, libgcc-s1, libstdc++6 (the GPU machine's own are
#                newer) and CUDA's (cuDNN, cuBLAS: the GPU machine's). The packages are fetched
#                with apt-get download at the installed versions (or the candidate, when the
#                mirror no longer has those) into build-gpu.debs/ (not carried), then unpacked;
#                one xz archive of the libraries is 20 MiB where the .deb files are 28.
#                PACK=debs carries the .deb files instead, in .gpu/debs/.
#                .gpu/PACKAGES.txt lists the packages, versions and libraries.
#   .gpu/fer2013.tar.xz   FER2013 for the short training run: all of test/, one training image in
#                TRAIN_EVERY per class (tools/fer2013_subset.sh), under a top folder fer2013/
#
# .gpu/ is ignored by git (FER2013 is research-use data: never commit it). At the end it prints
# what would travel to the GPU machine (the working tree's tracked and untracked-not-ignored files,
# build-gpu/ and .gpu/) and fails when that is over MAX_MIB.
#
#   tools/gpu_pack.sh              build, fetch the packages, pack the data, size it all
#   tools/gpu_pack.sh --no-build   keep build-gpu/ as it is (debs, data and sizes only)
#
# Environment: LLX_CUDA (ON; OFF builds without CUDA, to rehearse the packing), CUDA_ARCHS
# (80;90), PACK (libs or debs), TRAIN_EVERY (2; tools/gpu_check_notes.md must have a CPU
# reference for it), FER2013_SRC (the image folders; default /work/shared/data/fer2013),
# MAX_MIB (60), JOBS (nproc).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

build_dir=build-gpu
pack=.gpu
cuda=${LLX_CUDA:-ON}
archs=${CUDA_ARCHS:-80;90}
every=${TRAIN_EVERY:-2}
fer_src=${FER2013_SRC:-/work/shared/data/fer2013}
max_mib=${MAX_MIB:-60}
pack_as=${PACK:-libs}
case "$pack_as" in libs | debs) ;; *) echo "gpu_pack: PACK must be libs or debs, not '$pack_as'" >&2; exit 2 ;; esac
debs=build-gpu.debs
do_build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) do_build=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "gpu_pack: unknown option '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
say() { echo "gpu_pack: $*"; }
die() { echo "gpu_pack: $*" >&2; exit 1; }

# ---- 1. the build --------------------------------------------------------------------------
if [ $do_build -eq 1 ]; then
  gen=()
  command -v ninja >/dev/null && gen=(-G Ninja)
  # A build folder configured with another generator cannot be reconfigured with Ninja.
  if [ -f "$build_dir/CMakeCache.txt" ] && ! grep -q "^CMAKE_GENERATOR:INTERNAL=${gen[1]:-Unix Makefiles}$" "$build_dir/CMakeCache.txt"; then
    rm -rf "$build_dir"
  fi
  say "configuring $build_dir (Release, LLX_CUDA=$cuda, CUDA archs $archs)"
  mkdir -p "$build_dir"
  cmake -S . -B "$build_dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DLLX_CUDA="$cuda" \
    -DCMAKE_CUDA_ARCHITECTURES="$archs" -DLLX_WERROR=OFF > "$build_dir/gpu_pack.configure.log" 2>&1 ||
    { tail -30 "$build_dir/gpu_pack.configure.log"; die "configure failed (log: $build_dir/gpu_pack.configure.log)"; }
  grep 'llx: CUDA backend' "$build_dir/gpu_pack.configure.log" || true
  if [ "$cuda" = ON ] && ! grep -q 'llx: CUDA backend ON' "$build_dir/gpu_pack.configure.log"; then
    die "LLX_CUDA=ON but the CUDA backend is off (nvcc or cuDNN not found); LLX_CUDA=OFF rehearses without it"
  fi
  say "building $build_dir"
  cmake --build "$build_dir" -j "${JOBS:-$(nproc)}" || die "the build failed"
fi
# Object files, the test-support archive and configure's probes (compiler identification,
# CUDA check: 9 MiB with CUDA) are not used after the build: they need not travel.
find "$build_dir" \( -name '*.o' -o -name '*.a' \) -type f -delete
rm -rf "$build_dir/CMakeFiles/CheckCUDA" "$build_dir"/CMakeFiles/*/CompilerId*/tmp
find "$build_dir/CMakeFiles" \( -name a.out -o -name '*.bin' \) -type f -delete
if [ ! -f "$build_dir/libllx.so" ] || [ ! -x "$build_dir/llx" ]; then
  die "no $build_dir/libllx.so or $build_dir/llx (build first)"
fi

# ELF files of the build: the library, the CLI, plugins, test programs.
elves=()
while IFS= read -r -d '' f; do
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] && elves+=("$f")
done < <(find "$build_dir" -type f \( -name '*.so' -o -perm -u+x \) -print0 | sort -z)
[ ${#elves[@]} -gt 0 ] || die "no ELF files in $build_dir"
# Release has no -g; strip what debug info there is anyway (nothing rebuilds on a newer mtime).
for f in "${elves[@]}"; do
  if readelf -S "$f" 2>/dev/null | grep -q '\.debug_info'; then strip --strip-debug "$f"; fi
done

# ---- 2. the Debian packages of the libraries they load ---------------------------------------
say "libraries of ${#elves[@]} ELF files in $build_dir"
declare -A libs=()
missing=""
for f in "${elves[@]}"; do
  while read -r line; do
    case "$line" in
      *"=> not found"*) missing+="  $f: ${line%% *}"$'\n' ;;
      *"=> /"*) p=${line#*=> }; libs[${p%% (*}]=1 ;;
      /*) libs[${line%% (*}]=1 ;;
    esac
  done < <(env -u LD_LIBRARY_PATH ldd "$f" 2>/dev/null)
done
[ -z "$missing" ] || die "libraries not found here (the build cannot run even here):"$'\n'"$missing"

owner() { # the package owning a library path, trying the merged-/usr twins too
  local p=$1 r
  r=$(readlink -f "$p")
  for q in "$p" "$r" "/usr$p" "${p#/usr}" "/usr$r" "${r#/usr}"; do
    dpkg -S "$q" 2>/dev/null | head -1 | sed 's/: .*//' && return 0
  done
  return 1
}
declare -A pkgs=() pkg_libs=()
cuda_libs="" unowned=""
build_real=$(readlink -f "$build_dir")
for l in $(printf '%s\n' "${!libs[@]}" | sort); do
  real=$(readlink -f "$l")
  case "$real" in "$build_real"/*) continue ;; esac # the build's own libllx.so
  [ ! -e "$build_dir/$(basename "$l")" ] || continue # the same, of a build made in another folder
  if pkg=$(owner "$l"); then
    pkg=${pkg%%,*}
    base=${pkg%%:*}
    case "$base" in
      libc6 | libgcc-s1 | libstdc++6) continue ;;
      *cuda* | *cudnn* | *cublas* | *nvidia* | libnv*) cuda_libs+=" $(basename "$l")"; continue ;;
    esac
    pkgs[$pkg]=1
    pkg_libs[$pkg]+=" $(basename "$l")"
  else
    case "$(basename "$l")" in
      libcudnn* | libcublas* | libcudart* | libcuda.so* | libnvrtc* | libnvJitLink*) cuda_libs+=" $(basename "$l")" ;;
      *) unowned+=" $l" ;;
    esac
  fi
done
[ -z "$unowned" ] || die "libraries no Debian package owns (cannot carry them as .deb):$unowned"
say "from the GPU machine's CUDA/pip installs:${cuda_libs:- (none)}"

mkdir -p "$debs" "$pack"
keep=()
: > "$pack/PACKAGES.txt.new"
for pkg in $(printf '%s\n' "${!pkgs[@]}" | sort); do
  base=${pkg%%:*}
  ver=$(dpkg-query -W -f='${Version}' "$pkg")
  arch=$(dpkg-query -W -f='${Architecture}' "$pkg")
  file="${base}_${ver//:/%3a}_${arch}.deb"
  note=""
  if [ ! -s "$debs/$file" ]; then
    if [ -s "/var/cache/apt/archives/$file" ]; then
      cp "/var/cache/apt/archives/$file" "$debs/"
    elif ! (cd "$debs" && apt-get -qq -o APT::Sandbox::User=root download "$base:$arch=$ver" 2>/dev/null); then
      # The installed version is gone from the mirror (a binNMU or point release replaced
      # it): take the candidate, same source and soname.
      cand=$(apt-cache policy "$base:$arch" | awk '/Candidate:/ {print $2}')
      file="${base}_${cand//:/%3a}_${arch}.deb"
      if [ ! -s "$debs/$file" ]; then
        (cd "$debs" && apt-get -qq -o APT::Sandbox::User=root download "$base:$arch=$cand") ||
          die "apt-get download $base (installed $ver, candidate $cand) failed (apt-get update?)"
      fi
    fi
  fi
  [ -s "$debs/$file" ] || die "apt-get download gave no $debs/$file"
  carried=$(dpkg-deb -f "$debs/$file" Version)
  [ "$carried" = "$ver" ] || note=" (installed here: $ver)"
  keep+=("$file")
  printf '%-28s %-28s %s%s\n' "$base" "$carried" "${pkg_libs[$pkg]# }" "$note" >> "$pack/PACKAGES.txt.new"
done
mv "$pack/PACKAGES.txt.new" "$pack/PACKAGES.txt"
say "${#keep[@]} packages ($(cd "$debs" && du -cb "${keep[@]}" | awk 'END {printf "%.1f MiB", $1 / 1048576}') of .deb files)"

rm -rf "$pack/debs" "$pack/libs.tar.xz"
if [ "$pack_as" = debs ]; then
  mkdir -p "$pack/debs"
  for f in "${keep[@]}"; do cp "$debs/$f" "$pack/debs/"; done
else
  tmp=$(mktemp -d)
  for f in "${keep[@]}"; do dpkg-deb -x "$debs/$f" "$tmp"; done
  # Only the libraries ldd named (by file name, in the packages' folders) and the files their
  # symlinks lead to: no other library of those packages (liblapack, libbrotlienc...), no
  # documentation or data.
  wanted=$(for l in "${!libs[@]}"; do
             l=$(basename "$l")
             for pkg in "${!pkg_libs[@]}"; do
               case " ${pkg_libs[$pkg]} " in *" $l "*) echo "$l"; break ;; esac
             done
           done | sort -u)
  (cd "$tmp" && for name in $wanted; do
     find . -path '*/lib/*' -name "$name" | while IFS= read -r f; do
       echo "${f#./}"
       [ ! -L "$f" ] || realpath --relative-to=. "$f"
     done
   done | sort -u | tar --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - -T - | xz -9 -T0) > "$pack/libs.tar.xz"
  n_files=$(tar -tJf "$pack/libs.tar.xz" | wc -l)
  [ "$n_files" -ge "$(echo "$wanted" | wc -w)" ] || die "libs.tar.xz holds $n_files files for $(echo "$wanted" | wc -w) libraries"
  rm -rf "$tmp"
fi

# ---- 3. the FER2013 subset -------------------------------------------------------------------
stamp="train_every=$every source=$fer_src"
if [ -s "$pack/fer2013.tar.xz" ] && [ "$(cat "$pack/fer2013.stamp" 2>/dev/null)" = "$stamp" ]; then
  say "$pack/fer2013.tar.xz is up to date ($stamp)"
else
  [ -d "$fer_src/train" ] || die "no FER2013 at $fer_src (set FER2013_SRC)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  tools/fer2013_subset.sh "$fer_src" "$tmp/fer2013" "$every"
  say "compressing (xz, a minute or two)"
  tar -C "$tmp" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - fer2013 |
    xz -6 -T0 > "$pack/fer2013.tar.xz.new"
  mv "$pack/fer2013.tar.xz.new" "$pack/fer2013.tar.xz"
  echo "$stamp" > "$pack/fer2013.stamp"
  rm -rf "$tmp"
fi

# ---- 4. what travels -------------------------------------------------------------------------
mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
tree_sizes() { # bytes of each file of the working tree that travels
  if git rev-parse --git-dir >/dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null || true
  else # not a checkout: all but the build folders and .gpu/
    find . \( -path ./.git -o -path './build*' -o -path "./$pack" \) -prune -o -type f -printf '%s\n'
  fi
}
tree=$(tree_sizes | awk '{s += $1} END {print s + 0}')
b_build=$(du -sb "$build_dir" | cut -f1)
if [ "$pack_as" = debs ]; then b_libs=$(du -cb "$pack"/debs/* | tail -1 | cut -f1); what="$pack/debs/"
else b_libs=$(stat -c %s "$pack/libs.tar.xz"); what="$pack/libs.tar.xz"; fi
b_data=$(stat -c %s "$pack/fer2013.tar.xz")
b_pack=$(du -sb "$pack" | cut -f1)
total=$((tree + b_build + b_pack))
printf '\n%-44s %8s MiB\n' "working tree (tracked + untracked, not ignored)" "$(mib "$tree")"
printf '%-44s %8s MiB\n' "$build_dir/" "$(mib "$b_build")"
printf '%-44s %8s MiB\n' "$what (${#keep[@]} packages)" "$(mib "$b_libs")"
printf '%-44s %8s MiB\n' "$pack/fer2013.tar.xz ($stamp)" "$(mib "$b_data")"
printf '%-44s %8s MiB  (limit %s MiB; the device tool takes 64)\n' "total" "$(mib "$total")" "$max_mib"
[ "$total" -le $((max_mib * 1048576)) ] || die "what would travel is over $max_mib MiB"
cat <<EOF

gpu_pack: ready. On the GPU machine, from the repository root:
  tools/gpu_check.sh          (carry: $build_dir, $pack)
EOF
