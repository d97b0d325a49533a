#!/usr/bin/env bash
# Generation speed of `ssmtk audio generate` (one recurrent step per sample) for a few model sizes,
# as a table. Models are fresh (one training step on test-data/audio/digits, so they carry
# audio.json); speed does not depend on the weights.
#   scripts/bench-audio-generate.sh [--device cpu|cuda] [--threads N] [--seconds S] [--sizes 64x4,128x4,256x8] [--rate HZ]
set -euo pipefail
cd "$(dirname "$0")/.."
SSMTK=${SSMTK:-bin/ssmtk}
device=cpu threads=2 seconds=2 sizes=64x4,128x4,256x8 rate=16000
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    *) echo "bench-audio-generate: unknown option $1" >&2; exit 1 ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "| d_model x layers | device | threads | rate | samples | seconds | samples/s | x real time |"
echo "|---|---|---|---|---|---|---|---|"
for s in ${sizes//,/ }; do
  d=${s%x*} l=${s#*x}
  "$SSMTK" audio train-lm --input test-data/audio/digits/wav/train --out "$work/m$s" --sample-rate "$rate" --d-model "$d" --layers "$l" \
      --seq-len 256 --batch 1 --steps 1 --eval-windows 1 --checkpoint-every 0 --threads "$threads" --device "$device" >/dev/null 2>&1
  line=$("$SSMTK" audio generate --model "$work/m$s/model" --seconds "$seconds" --output "$work/g$s.wav" --top-k 50 --seed 1 \
      --threads "$threads" --device "$device" 2>&1 >/dev/null | grep 'samples/s')
  # "... 32,000 samples (2.000 s at 16000 Hz) after a 1-sample prompt in 3.21 s (prompt forward included): 9,969 samples/s"
  n=$(sed -E 's/.*generate: ([0-9,]+) samples.*/\1/' <<<"$line" | tr -d ,)
  t=$(sed -E 's/.* in ([0-9.]+) s \(prompt.*/\1/' <<<"$line")
  sps=$(sed -E 's/.*: ([0-9,]+) samples\/s.*/\1/' <<<"$line" | tr -d ,)
  echo "| ${d} x ${l} | $device | $threads | $rate | $n | $t | $sps | $(awk -v a="$sps" -v r="$rate" 'BEGIN{printf "%.3f", a/r}') |"
done
