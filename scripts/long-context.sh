#!/usr/bin/env bash
# Accuracy against context length on the E. coli strain task (scripts/ecoli-strains.sh: 3 strains,
# the last --holdout of every genome held out): a Mamba classifier trained from scratch at each
# window length with the same bases seen and the same bases per step (so the same number of steps
# and learning-rate schedule; only the window changes; windows of 4 kb and more spend the first half
# of the steps in a sequence-length warmup from 1 kb), beside two composition baselines given the
# same window, trained and scored on the same windows (dna kmer-baseline):
#   6-mer softmax regression on strand-symmetric 6-mer frequencies (--method softmax --k 6)
#   Markov chains of order 5 per class, maximum likelihood (--method markov --order 5)
# Writes OUT/results.tsv, OUT/results.md (markdown table) and OUT/accuracy.png (ssmtk report plot);
# with NumPy, results.md also gets scripts/strain-kmer-oracle.py's table (what an exact-sequence
# memoriser of the training parts scores on the same tiles).
#
#   scripts/long-context.sh [--mode full|reduced|tiny] [--device cuda|cpu|auto] [--out DIR]
#       [--lengths L,L,...] [--bases N] [--tokens-per-step N] [--threads N] [--cache DIR]
#   (--cache: where scripts/ecoli-strains.sh keeps the strain FASTAs; built there once, needs network)
#   full     lengths 1k, 8k, 32k, 128k, 1M; 2^27 bases per length, 2^18 per step (512 steps; 128 at
#            1M, whose batch is one window); a d_model 128 x 4-layer Mamba; 311 s on one H200
#            (2026-11-30), baselines included
#   reduced  lengths 1k, 32k, 1M, 2^26 bases, 2^20 per step (64 steps): about 1 min of one H200
#   tiny     CPU, lengths 256 and 1024, 2^15 bases per length, the 2-layer d_model 64 preset: the
#            pipeline end to end in about a minute (CI); its accuracies mean nothing
# Held-out windows: non-overlapping tiles of the tails, at most 256 per class; a tail of ~1.2 Mb
# holds one 1 Mb window per class, so the 1 Mb row scores 3 windows (say so when quoting it).
# SSMTK=path/to/ssmtk picks the launcher (default bin/ssmtk of this checkout).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ssmtk=${SSMTK:-$root/bin/ssmtk}
mode=full device=cuda out=$root/out/long-context threads=${SSMTK_THREADS:-}
lengths= bases= per_step= cache=()
while [ $# -gt 0 ]; do
  case $1 in
    --mode) mode=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --lengths) lengths=$2; shift 2 ;;
    --bases) bases=$2; shift 2 ;;
    --tokens-per-step) per_step=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --cache) cache=(--cache "$2"); shift 2 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "long-context.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
holdout=0.25 eval_windows=256 lr=2e-3 slw_start=1024 kmer_bases=16777216 kmer_iterations=300
case $mode in
  full) : "${lengths:=1024,8192,32768,131072,1048576}" "${bases:=134217728}" "${per_step:=262144}" ;;
  reduced) : "${lengths:=1024,32768,1048576}" "${bases:=67108864}" "${per_step:=1048576}" ;;
  tiny) : "${lengths:=256,1024}" "${bases:=32768}" "${per_step:=4096}"; device=cpu; eval_windows=32; slw_start=256; kmer_bases=65536; kmer_iterations=60 ;;
  *) echo "long-context.sh: --mode full, reduced or tiny, got '$mode'" >&2; exit 2 ;;
esac
[ -x "$ssmtk" ] && [ -f "$root/cli/target/ssmtk.jar" ] || "$root/scripts/build.sh"
command -v jq >/dev/null || { echo "long-context.sh: needs jq" >&2; exit 1; }
mapfile -t lines < <("$root/scripts/ecoli-strains.sh" "${cache[@]}")
[ ${#lines[@]} -eq 3 ] || { echo "long-context.sh: scripts/ecoli-strains.sh did not build the strain set" >&2; exit 1; }
classes=(); for l in "${lines[@]}"; do classes+=(--class "${l#--class }"); done
thr=(); [ -n "$threads" ] && thr=(--threads "$threads")

mkdir -p "$out"
# The model: the tiny preset for CI, else d_model 128, 4 layers (between tiny and dna, so that five
# lengths fit in a few GPU minutes).
if [ "$mode" = tiny ]; then
  model=(--preset tiny)
else
  "$ssmtk" model init --preset tiny --out "$out/config-base" --seed 0 >/dev/null 2>&1 || true
  jq '.hidden_size = 128 | .intermediate_size = 256 | .num_hidden_layers = 4 | .time_step_rank = 8' \
      "$out/config-base/config.json" > "$out/config.json"
  rm -rf "$out/config-base"
  model=(--config "$out/config.json")
fi

table=$out/results.tsv
printf 'window\tsteps\tbatch\tmamba\t6-mer softmax\tMarkov order 5\twindows scored\tmamba seconds\n' > "$table"
for L in ${lengths//,/ }; do
  d=$out/L$L
  rm -rf "$d"; mkdir -p "$d"
  batch=$(( per_step / L )); [ "$batch" -ge 1 ] || batch=1
  steps=$(( bases / (batch * L) )); [ "$steps" -ge 1 ] || steps=1
  warm=$(( steps / 10 ))
  # sequence-length warmup for windows of 4x the first stage or more: half the steps on shorter windows
  # (as many bases per step), doubling from $slw_start up to L
  slw=(); stages=0; for (( l = slw_start; l < L; l *= 2 )); do stages=$(( stages + 1 )); done
  if [ "$L" -ge $(( 4 * slw_start )) ] && [ $(( steps / 2 )) -ge "$stages" ]; then
    slw=(--seq-len-warmup "$slw_start" --seq-len-warmup-steps $(( steps / 2 )))
  fi
  echo "== window $L: $steps steps x $batch windows ($(( steps * batch * L )) bases) ${slw[*]}" >&2
  t0=$SECONDS
  "$ssmtk" dna train-classifier "${classes[@]}" --out "$d/mamba" "${model[@]}" --seq-len "$L" --batch "$batch" \
      --steps "$steps" --lr "$lr" --warmup "$warm" --holdout "$holdout" --eval-windows "$eval_windows" --rc-augment \
      "${slw[@]}" --checkpoint-every 0 --log-every 8 --device "$device" "${thr[@]}" >&2
  secs=$(( SECONDS - t0 ))
  # baselines: the softmax regression gets ~2^24 training bases (at most 4096 windows), the chains every training base
  tw=$(( kmer_bases / L )); [ "$tw" -le 4096 ] || tw=4096; [ "$tw" -ge 16 ] || tw=16
  "$ssmtk" dna kmer-baseline "${classes[@]}" --out "$d/kmer6" --method softmax --k 6 --train-windows "$tw" --iterations "$kmer_iterations" --seq-len "$L" \
      --holdout "$holdout" --eval-windows "$eval_windows" >&2
  "$ssmtk" dna kmer-baseline "${classes[@]}" --out "$d/markov5" --method markov --order 5 --seq-len "$L" \
      --holdout "$holdout" --eval-windows "$eval_windows" >&2
  acc() { jq -r '.accuracy // "-"' "$1"; }
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$L" "$steps" "$batch" "$(acc "$d/mamba/eval.json")" "$(acc "$d/kmer6/eval.json")" \
      "$(acc "$d/markov5/eval.json")" "$(jq -r '.examples' "$d/mamba/eval.json")" "$secs" >> "$table"
done

# markdown table and the plot (window, then one line per method)
{
  echo "| window (bases) | steps x windows | Mamba | 6-mer softmax | Markov order 5 | held-out windows | Mamba train+eval s |"
  echo "|---|---|---|---|---|---|---|"
  tail -n +2 "$table" | awk -F'\t' '{ printf "| %s | %s x %s | %.3f | %.3f | %.3f | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
  echo
  echo "3 classes (chance 0.333); held-out tails of 25% of each genome; same windows for every method."
} > "$out/results.md"
cut -f1,4,5,6 "$table" | sed '1s/.*/window\tMamba\t6-mer softmax\tMarkov order 5/' > "$out/plot.tsv"
"$ssmtk" report plot --table "$out/plot.tsv" --output "$out/accuracy.png" --log-x --x-label "window (bases)" \
    --y-label "held-out accuracy" --title "E. coli strains (3 classes): accuracy against context" >&2 \
  || echo "long-context.sh: no plot (the table is written; draw it elsewhere with ssmtk report plot --table $out/plot.tsv)" >&2
# what memorising the training parts could give at all (an exact 21-mer matcher on the same tiles)
if [ "$mode" != tiny ] && python3 -c 'import numpy' 2>/dev/null; then
  fasta=${lines[0]#--class *=}
  { echo; python3 "$root/scripts/strain-kmer-oracle.py" --cache "$(dirname "$fasta")" --lengths "$lengths" \
      --holdout "$holdout" --eval-windows "$eval_windows"; } >> "$out/results.md"
fi
cat "$out/results.md"
echo "(table: $table; plot: $out/accuracy.png; per-run eval.json under $out/L*/)"
