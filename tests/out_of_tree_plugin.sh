#!/usr/bin/env bash
# A researcher's out-of-tree attention plugin: installs llx's headers into a temporary prefix,
# compiles a renamed copy of plugins/template/channel_scale.c against them with plain cc (no
# CMake, no llx sources), and uses it from an experiment through LLX_PLUGIN_PATH.
# usage: out_of_tree_plugin.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
sed -e 's/"channel_scale"/"my_gate"/; s/LLX_PLUGIN(template,/LLX_PLUGIN(my_gate,/; s/"template")/"my_gate")/' \
  "$src/plugins/template/channel_scale.c" > "$tmp/my_gate.c"
mkdir -p "$tmp/plugins"
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -I "$tmp/prefix/include" "$tmp/my_gate.c" -o "$tmp/plugins/llx_my_gate.so"

export LLX_PLUGIN_PATH=$tmp/plugins
"$build/llx" plugins | tee "$tmp/plugins.txt"
grep -q "my_gate 1.0.0  $tmp/plugins/llx_my_gate.so" "$tmp/plugins.txt"
"$build/llx" summary "$src/experiments/resnet18.yaml" --set attention=my_gate | tee "$tmp/summary.txt"
# one gate per channel in each of the 8 blocks: 11,180,103 + 2 * (64 + 128 + 256 + 512)
grep -q "total: 11,182,023 parameters" "$tmp/summary.txt"

# The same plugin from the experiment's plugin_paths: instead of the environment.
unset LLX_PLUGIN_PATH
printf 'extends: %s\nplugin_paths: [%s]\nvars:\n  attention: my_gate\n' "$src/experiments/resnet18.yaml" "$tmp/plugins" \
  > "$tmp/exp.yaml"
"$build/llx" summary "$tmp/exp.yaml" | grep -q "total: 11,182,023 parameters"
echo "1 passed, 0 failed"
