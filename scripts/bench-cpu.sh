#!/usr/bin/env bash
# ssmtk beside llama.cpp on the CPU, same weights, same threads, one run (issue #17).
#
# The peer is llama.cpp as npm's node-llama-cpp ships it (prebuilt CPU libraries, the CPU variant
# picked at load), driven by bench/peers/llama_mamba.c: one process, one context, its thread pool
# warm across every decode step. For each model shape a random checkpoint is written once and
# exported to GGUF (F32 and Q8_0) with `ssmtk model export --gguf`; logits are compared before any
# timing (ssmtk fp32 vs llama.cpp F32, ssmtk int8 vs llama.cpp Q8_0: the same int8 blocks). Then
# prompt processing (one forward of PROMPT tokens, last position's logits) and greedy decoding
# (DECODE tokens) are timed, REPEATS times each, alternating the two tools.
#
#   scripts/bench-cpu.sh [MODELS] [THREADS]      defaults: 130m,dna  1,2
#   env: PROMPT (1024), DECODE (64; 256 for dna), REPEATS (5), SSMTK_PEER_DIR (~/.cache/ssmtk/llama-peer)
set -euo pipefail
cd "$(dirname "$0")/.."
models=${1:-130m,dna}
threads_list=${2:-1,2}
prompt=${PROMPT:-1024}
repeats=${REPEATS:-5}
out=out/bench-cpu; mkdir -p "$out"
[ -f cli/target/ssmtk.jar ] || scripts/build.sh
export SSMTK_JAVA_OPTS=${SSMTK_JAVA_OPTS:--Xmx8g}

# ---- the peer: node-llama-cpp's prebuilt llama.cpp, the headers of the same release, our driver
peer=${SSMTK_PEER_DIR:-$HOME/.cache/ssmtk/llama-peer}
mkdir -p "$peer"
if [ ! -d "$peer/node_modules/node-llama-cpp" ]; then
  echo "bench-cpu: installing node-llama-cpp@3.21.1 into $peer" >&2
  (cd "$peer" && npm install --no-audit --no-fund --ignore-scripts node-llama-cpp@3.21.1 >/dev/null)
fi
libs=$(ls -d "$peer"/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64)
if [ ! -d "$peer/src" ]; then
  git clone -q "$peer/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$peer/src" 2>/dev/null
fi
driver=$peer/llama_mamba
if [ ! -x "$driver" ] || [ bench/peers/llama_mamba.c -nt "$driver" ]; then
  gcc -O2 -o "$driver" bench/peers/llama_mamba.c -I"$peer/src/include" -I"$peer/src/ggml/include" \
    "$libs"/libllama.v*.so "$libs"/libggml.v*.so "$libs"/libggml-base.so -Wl,-rpath,"$libs"
fi
export LLAMA_LIB_DIR=$libs
llama_version=$(sed -n 's/.*"tag": *"\([^"]*\)".*/\1/p' "$peer/node_modules/node-llama-cpp/llama/llama.cpp.info.json")

# ---- models, GGUF exports, parity
for m in ${models//,/ }; do
  dir=$out/$m
  [ -f "$dir/model.safetensors" ] || bin/ssmtk model init --preset "$m" --seed 1 --out "$dir" >&2
  for t in f32 q8_0; do
    [ -f "$out/$m-$t.gguf" ] || bin/ssmtk model export --model "$dir" --gguf "$out/$m-$t.gguf" --type "$t" 2>/dev/null
  done
  python3 bench/peers/parity.py write-inputs "$out/$m-ids" 64 "$(python3 -c "import json;print(json.load(open('$dir/config.json'))['vocab_size'])")"
  bin/ssmtk model forward --model "$dir" --input "$out/$m-ids.safetensors" --output "$out/$m-ssmtk-fp32.safetensors" --threads 2
  bin/ssmtk model forward --model "$dir" --input "$out/$m-ids.safetensors" --output "$out/$m-ssmtk-int8.safetensors" --threads 2 --weights int8
  "$driver" logits "$out/$m-f32.gguf" "$out/$m-ids.i32" "$out/$m-llama-f32.f32" 2 2>/dev/null
  "$driver" logits "$out/$m-q8_0.gguf" "$out/$m-ids.i32" "$out/$m-llama-q8_0.f32" 2 2>/dev/null
  python3 bench/peers/parity.py compare "$m" "$out" | tee -a "$out/parity.txt"
done

# ---- timing: ssmtk and llama.cpp alternate, repeat by repeat
: > "$out/timing.tsv"
for m in ${models//,/ }; do
  decode=${DECODE:-$([ "$m" = dna ] && echo 256 || echo 64)}
  for th in ${threads_list//,/ }; do
    for w in fp32 int8; do
      g=$([ $w = fp32 ] && echo f32 || echo q8_0)
      for r in $(seq "$repeats"); do
        bin/ssmtk bench model --model "$out/$m" --prompt "$prompt" --decode "$decode" --repeats 1 --threads "$th" --weights "$w" 2>/dev/null \
          | awk -v m="$m" -v th="$th" -v w="$w" '$1=="pp"{print m"\t"th"\t"w"\tssmtk\t"$2"\t"$4}' >> "$out/timing.tsv"
        "$driver" bench "$out/$m-$g.gguf" "$th" "$prompt" "$decode" 1 2>/dev/null \
          | awk -v m="$m" -v th="$th" -v w="$w" '$1=="pp"{print m"\t"th"\t"w"\tllama.cpp\t"$2"\t"$4}' >> "$out/timing.tsv"
      done
    done
  done
done
echo
echo "# $(date -u +%F) $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; $(bin/ssmtk --version 2>/dev/null); llama.cpp $llama_version (node-llama-cpp 3.21.1)"
echo "# prompt $prompt tokens; median of $repeats repeats [min-max]; ratio = ssmtk / llama.cpp"
python3 bench/peers/parity.py table "$out/timing.tsv" "$prompt" | tee "$out/table.md"
