#!/usr/bin/env bash
# The Mamba paper's synthetic tasks (Gu & Dao 2023, section 4.1) on the CPU, with the commands and
# settings whose results README.md reports: selective copying (Mamba and the non-selective
# ablation) and induction heads (trained at 256, evaluated up to 64k). Each training run takes
# about 15-20 minutes on 2 cores. Results, models, loss curves and accuracy plots go to out/synthetic/.
#   scripts/synthetic-cpu.sh [selective-copying|induction-heads|all]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f cli/target/ssmtk.jar ] || scripts/build.sh
export PATH="$PWD/bin:$PATH"
what=${1:-all}
out=out/synthetic
mkdir -p "$out"
if [ "$what" = all ] || [ "$what" = selective-copying ]; then
  # A length curriculum: 64 tokens for 2000 steps, 128 until step 3500, then 256 (the evaluated length).
  ssmtk synthetic selective-copying --train 64@2000,128@3500,256 --eval 256,512 --steps 5000 --batch 32 \
      --lr 3e-3 --warmup 200 --log-every 100 --variants selective,non-selective --out "$out/selective-copying" \
      | tee "$out/selective-copying.txt"
fi
if [ "$what" = all ] || [ "$what" = induction-heads ]; then
  # No weight decay: once the task is solved the loss is ~0, and decay would shrink the selection
  # margins (Δ of the ignored tokens) that carry the state across lengths never seen in training.
  ssmtk synthetic induction-heads --train 64@500,128@1000,256 --eval 256,1024,4096,16384,65536 --steps 2500 --batch 32 --weight-decay 0 \
      --lr 3e-3 --warmup 100 --log-every 100 --out "$out/induction-heads" \
      | tee "$out/induction-heads.txt"
fi
