#!/usr/bin/env bash
# Throughput of the DNA inference commands: bases/s of dna classify, dna classify-reads and
# dna score, and each command's peak memory (maximum resident set size of the whole JVM, from
# /usr/bin/time -v), on one generated genome and read set, per model preset.
#
#   scripts/bench-dna.sh [--device cpu|cuda|auto] [--threads N] [--presets tiny,dna] [--bases N]
#       [--read-length N] [--out DIR]
#
# Inputs (generated, deterministic): a FASTA of --bases random bases (GC 45%, 2 contigs) and a SAM of
# mapped reads of --read-length covering it once. Models have random weights (train-classifier /
# pretrain with --steps 1): speed does not depend on what was learnt. bases/s is the command's own
# count (model time: reading, tokenizing and the forward passes; JVM start-up excluded); wall s
# includes everything. SSMTK=path/to/ssmtk picks the launcher (default bin/ssmtk of this checkout).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ssmtk=${SSMTK:-$root/bin/ssmtk}
device=cpu threads=2 presets=tiny bases=200000 read_len=1000 out=$root/out/bench-dna
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --presets) presets=$2; shift 2 ;;
    --bases) bases=$2; shift 2 ;;
    --read-length) read_len=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "bench-dna.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x /usr/bin/time ] || { echo "bench-dna.sh: needs /usr/bin/time (apt-get install time) for peak memory" >&2; exit 1; }
rm -rf "$out"; mkdir -p "$out"

# Two contigs of random bases, 60 per line; reads tile them end to end (forward strand, MAPQ 60).
awk -v n="$bases" -v rl="$read_len" -v fa="$out/genome.fa" -v sam="$out/reads.sam" 'BEGIN {
  srand(7); half = int(n / 2)
  for (c = 1; c <= 2; c++) {
    len[c] = c == 1 ? half : n - half; s = ""
    for (i = 0; i < len[c]; i++) { r = rand(); s = s (r < 0.275 ? "A" : r < 0.5 ? "T" : r < 0.725 ? "G" : "C") }
    seq[c] = s
  }
  print "@HD\tVN:1.6\tSO:coordinate" > sam
  for (c = 1; c <= 2; c++) print "@SQ\tSN:chr" c "\tLN:" len[c] > sam
  for (c = 1; c <= 2; c++) {
    print ">chr" c > fa
    for (i = 1; i <= len[c]; i += 60) print substr(seq[c], i, 60) > fa
    for (p = 1; p + rl - 1 <= len[c]; p += rl)
      printf "r%d_%d\t0\tchr%d\t%d\t60\t%dM\t*\t0\t0\t%s\t*\n", c, p, c, p, rl, substr(seq[c], p, rl) > sam
  }
}'
printf '>a\n%s\n' "$(head -c 4000 /dev/zero | tr '\0' 'A')" > "$out/a.fa"
printf '>c\n%s\n' "$(head -c 4000 /dev/zero | tr '\0' 'C')" > "$out/c.fa"

# prints "bases seconds" from a command's summary line
bases_seconds() {
  sed -nE 's/.* ([0-9,]+) bases in ([0-9.]+) s.*/\1 \2/p; s/.*\(([0-9,]+) bases\) in ([0-9.]+) s.*/\1 \2/p; s/.* ([0-9,]+) bases \([0-9,]+ scored\) in ([0-9.]+) s.*/\1 \2/p' "$1" \
    | tail -1 | tr -d ,
}
table=$out/results.tsv
printf 'command\tmodel\tparameters\tdevice\tthreads\tbases\tbases/s\twall s\tpeak RSS MiB\n' > "$table"
run() { # name preset parameters command...
  local name=$1 preset=$2 params=$3; shift 3
  local log=$out/$name-$preset
  /usr/bin/time -v -o "$log.time" "$@" > "$log.out" 2> "$log.err" || { cat "$log.err" >&2; exit 1; }
  read -r b s < <(cat "$log.out" "$log.err" | bases_seconds /dev/stdin)
  local rss wall
  rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$log.time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.1f", s }' "$log.time")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\t%s\n' "$name" "$preset" "$params" "$device" "$threads" "$b" "$(echo "$b $s" | awk '{ print $1 / $2 }')" \
    "$wall" "$rss" >> "$table"
  echo "$name ($preset): $(cat "$log.out" "$log.err" | grep ' bases' | tail -1)" >&2
}
for preset in ${presets//,/ }; do
  m=$out/models-$preset
  "$ssmtk" dna train-classifier --class A=$out/a.fa --class C=$out/c.fa --out "$m/cls" --preset "$preset" --seq-len 1000 --batch 1 \
      --steps 1 --holdout 0 --checkpoint-every 0 --threads "$threads" > /dev/null 2>&1
  "$ssmtk" dna pretrain --fasta $out/a.fa --out "$m/lm" --preset "$preset" --seq-len 1000 --batch 1 --steps 1 --holdout 0 \
      --checkpoint-every 0 --threads "$threads" > /dev/null 2>&1
  params=$("$ssmtk" model info --model "$m/lm/model" 2>/dev/null | sed -nE 's/.*parameters[: ]+([0-9,]+).*/\1/p' | head -1)
  run classify "$preset" "${params:--}" "$ssmtk" dna classify --model "$m/cls/model" --fasta $out/genome.fa --output $out/calls.tsv --seq-len 1000 \
      --device "$device" --threads "$threads"
  run classify-reads "$preset" "${params:--}" "$ssmtk" dna classify-reads --model "$m/cls/model" --input $out/reads.sam --output $out/reads.tsv \
      --bam-out $out/tagged.bam --device "$device" --threads "$threads"
  run score "$preset" "${params:--}" "$ssmtk" dna score --model "$m/lm/model" --fasta $out/genome.fa --output $out/scores.bedGraph --window 100 \
      --device "$device" --threads "$threads"
done
echo
column -t -s $'\t' "$table"
echo "(table: $table)"
