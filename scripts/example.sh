#!/usr/bin/env bash
# The main job on the small built-in example: builds ssmtk, then runs the reference Mamba checkpoint
# of test-data/fixtures (made by transformers) and checks ssmtk's output against transformers' own,
# generates tokens with the recurrent state, and measures a DNA-sized model. Outputs go to out/example/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
export PATH="$PWD/bin:$PATH"
model=test-data/fixtures/tiny-mamba
out=out/example
mkdir -p "$out"

echo "== ssmtk model info"
ssmtk model info --model "$model" | head -12

echo "== ssmtk model forward (logits and hidden states of transformers' reference inputs)"
ssmtk model forward --model "$model" --input "$model/reference.safetensors" --output "$out/forward.safetensors" --hidden-states

echo "== ssmtk tensors diff (ours vs transformers, float64)"
ssmtk tensors diff --a "$out/forward.safetensors" --b "$model/reference.safetensors" --tolerance 1e-5

echo "== ssmtk model forward --grads (loss and every parameter's gradient vs transformers')"
ssmtk model forward --model "$model" --input "$model/reference.safetensors" --output "$out/grads.safetensors" --grads
ssmtk tensors diff --a "$out/grads.safetensors" --b "$model/reference.safetensors" --tolerance 1e-4

echo "== ssmtk model generate (greedy, then sampled)"
ssmtk model generate --model "$model" --prompt-ids 1,2,3 --max-new 16
ssmtk model generate --model "$model" --prompt-ids 1,2,3 --max-new 16 --temperature 0.8 --top-k 5 --seed 7

echo "== ssmtk model init + bench (a fresh DNA-sized model)"
rm -rf "$out/dna-model"
ssmtk model init --preset dna --out "$out/dna-model" --seed 1
ssmtk model info --model "$out/dna-model" | grep '^parameters'
ssmtk bench forward --models dna --lengths 1024,4096

echo "== ssmtk synthetic induction-heads (a short training run; see README for the full ones)"
rm -rf "$out/induction"
ssmtk synthetic induction-heads --train 64 --eval 64,256,1024 --steps 500 --batch 32 --lr 3e-3 --warmup 50 --weight-decay 0 --log-every 100 --out "$out/induction"
echo "plots: $out/induction/accuracy.png $out/induction/selective/loss.png"
