#!/usr/bin/env bash
# What --weights int8 costs in accuracy on a trained DNA model (issue #17's goal: held-out bits/base
# within 0.5% of fp32). Trains a model briefly on H. pylori G27 (Debian's ragout-examples, fetched
# with apt-get download as scripts/dna-species.sh does), holding out the last 10% of the chromosome,
# then scores the held-out tail with `dna score` twice, fp32 and int8 weights, and prints the
# length-weighted mean bits/base of each.
#   scripts/int8-accuracy.sh [PRESET] [STEPS]        defaults: dna 200
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-dna}
steps=${2:-200}
out=out/int8-accuracy; mkdir -p "$out"
cache=${SSMTK_CACHE:-$HOME/.cache/ssmtk/genomes}
[ -f cli/target/ssmtk.jar ] || scripts/build.sh
fa=$cache/hpylori.fa
if [ ! -s "$fa" ]; then
  mkdir -p "$cache/debs"
  (cd "$cache/debs" && { ls ragout-examples_*.deb >/dev/null 2>&1 || apt-get download ragout-examples >/dev/null; })
  dpkg-deb -x "$(ls "$cache"/debs/ragout-examples_*.deb | head -1)" "$cache/ragout"
  zcat "$cache/ragout/usr/share/doc/ragout/examples/H.Pylori/references/G27.fasta.gz" > "$fa.tmp" && mv "$fa.tmp" "$fa"
fi
# the held-out tail: the last 10% of every record, as dna pretrain's --holdout 0.1 holds it out
awk '/^>/ { if (name != "") print name "\t" n; name = substr($1, 2); n = 0; next } { n += length($0) } END { print name "\t" n }' "$fa" \
  | awk -F'\t' '{ s = int($2 * 0.9); print $1 "\t" s "\t" $2 }' > "$out/heldout.bed"
if [ ! -f "$out/run/model/model.safetensors" ]; then
  bin/ssmtk dna pretrain --fasta "$fa" --out "$out/run" --preset "$preset" --steps "$steps" --holdout 0.1 \
    --seq-len 512 --batch 8 --lr 2e-3 --seed 1 --checkpoint-every 0
fi
for w in fp32 int8; do
  bin/ssmtk dna score --model "$out/run/model" --fasta "$fa" --regions "$out/heldout.bed" --window 10000 \
    --weights "$w" --output "$out/heldout-$w.bedgraph"
done
for w in fp32 int8; do
  awk -v w="$w" '$1 != "track" { n += $3 - $2; s += ($3 - $2) * $4 } END { printf "%s\t%.5f\n", w, -s / n }' "$out/heldout-$w.bedgraph"
done | tee "$out/bits.tsv"
awk 'NR == 1 { a = $2 } NR == 2 { printf "int8 vs fp32: %+.3f%% bits/base\n", 100 * ($2 - a) / a }' "$out/bits.tsv"
