#!/usr/bin/env bash
# Species classification on real bacterial genomes: ssmtk's Mamba classifier against a 6-mer
# logistic-regression baseline, trained and scored on the same windows in the same run.
#
# Genomes come from Debian packages (apt-get download, no root needed; extracted with dpkg-deb into
# the cache, not git): ragout-examples ships complete references of E. coli K-12 MG1655, H. pylori
# G27, S. aureus N315 and V. cholerae O1 Inaba (2 chromosomes); kaptive-example ships a K. pneumoniae
# assembly (64 contigs). Contigs are renamed SPECIES_N.
#
# Split (no leakage): the last --holdout fraction of every contig is held out. Training windows
# (both methods) come only from the heads; scored windows are the non-overlapping --seq-len tiles
# of the tails (at most --eval-windows per species, spread evenly), the same for every method:
#   mamba            dna train-classifier's eval.json (it scores those tiles itself)
#   mamba classify   dna classify --reference all.fa --labeled-bed heldout.bed --metrics (the same
#                    tiles written as a labelled BED: must equal the row above)
#   mamba classify+RC   the same with --rc-average
#   6-mer LR         dna kmer-baseline (same inputs, --seq-len, --holdout, --eval-windows, --seed)
#
#   scripts/dna-species.sh [--device cpu|cuda|auto] [--threads N] [--lengths 1024,4096]
#       [--steps N] [--tokens-per-step N] [--preset tiny] [--lr X] [--holdout F] [--eval-windows N]
#       [--species ecoli,hpylori,saureus,vcholerae,kpneumoniae] [--cache DIR] [--out DIR]
# Needs apt-get and dpkg-deb (Debian/Ubuntu) for the genomes, jq for the table, awk, column.
# SSMTK=path/to/ssmtk picks the launcher (default bin/ssmtk of this checkout; copy the jar elsewhere
# first if you rebuild while it runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ssmtk=${SSMTK:-$root/bin/ssmtk}
device=cpu threads=2 lengths=1024 steps=150 tokens=8192 preset=tiny lr=3e-3 holdout=0.2 eval_windows=48
species=ecoli,hpylori,saureus,vcholerae,kpneumoniae
cache=${XDG_CACHE_HOME:-$HOME/.cache}/ssmtk/genomes out=$root/out/dna-species
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --lengths) lengths=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --tokens-per-step) tokens=$2; shift 2 ;;
    --preset) preset=$2; shift 2 ;;
    --lr) lr=$2; shift 2 ;;
    --holdout) holdout=$2; shift 2 ;;
    --eval-windows) eval_windows=$2; shift 2 ;;
    --species) species=$2; shift 2 ;;
    --cache) cache=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "dna-species.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

# species -> Debian package and the file inside it
source_of() {
  case $1 in
    ecoli) echo "ragout-examples usr/share/doc/ragout/examples/E.Coli/references/MG1655-K12.fasta.gz" ;;
    hpylori) echo "ragout-examples usr/share/doc/ragout/examples/H.Pylori/references/G27.fasta.gz" ;;
    saureus) echo "ragout-examples usr/share/doc/ragout/examples/S.Aureus/references/N315.fasta.gz" ;;
    vcholerae) echo "ragout-examples usr/share/doc/ragout/examples/V.Cholerae/references/O1_Inaba.fasta.gz" ;;
    kpneumoniae) echo "kaptive-example usr/share/doc/kaptive/examples/exact_match.fasta.gz" ;;
    *) echo "dna-species.sh: unknown species '$1' (ecoli, hpylori, saureus, vcholerae, kpneumoniae)" >&2; return 1 ;;
  esac
}

for tool in jq dpkg-deb column; do
  command -v "$tool" >/dev/null || { echo "dna-species.sh: needs $tool" >&2; exit 1; }
done
mkdir -p "$cache/debs" "$cache/extracted"
for sp in ${species//,/ }; do
  read -r pkg path < <(source_of "$sp")
  fa=$cache/$sp.fa
  [ -s "$fa" ] && continue
  if [ ! -f "$cache/extracted/$pkg/$path" ]; then
    if ! ls "$cache/debs/${pkg}"_*.deb >/dev/null 2>&1; then
      echo "fetching $pkg" >&2
      (cd "$cache/debs" && apt-get download "$pkg" >/dev/null) \
        || { echo "dna-species.sh: apt-get download $pkg failed (apt-get update first?)" >&2; exit 1; }
    fi
    dpkg-deb -x "$(ls "$cache/debs/${pkg}"_*.deb | head -1)" "$cache/extracted/$pkg"
  fi
  zcat "$cache/extracted/$pkg/$path" | awk -v sp="$sp" '/^>/ { print ">" sp "_" ++n; next } { print }' > "$fa.tmp"
  mv "$fa.tmp" "$fa"
done

mkdir -p "$out"
all=$out/all.fa
: > "$all.tmp"
for sp in ${species//,/ }; do cat "$cache/$sp.fa" >> "$all.tmp"; done
mv "$all.tmp" "$all"

# FASTA -> "contig length" lines in file order
lengths_of() { awk '/^>/ { if (name != "") print name, n; name = substr($1, 2); n = 0; next } { n += length($0) } END { if (name != "") print name, n }' "$1"; }

# The held-out tiles train-classifier scores (HeldOutSplit.regionTails + SequenceClassifier.tile):
# cut = len - round(len * holdout); tiles [s, s + L) from cut while s + L <= len; if more than
# max, the i-th of max is tile floor(i * n / max).
heldout_bed() { # species L max
  lengths_of "$cache/$1.fa" | awk -v sp="$1" -v L="$2" -v max="$3" -v h="$holdout" '
    BEGIN { n = 0 }
    { cut = $2 - int($2 * h + 0.5); for (s = cut; s + L <= $2; s += L) { c[n] = $1; b[n] = s; n++ } }
    END { k = n <= max ? n : max
          for (i = 0; i < k; i++) { j = n <= max ? i : int(i * n / max); printf "%s\t%d\t%d\t%s\n", c[j], b[j], b[j] + L, sp } }'
}

classes=()
for sp in ${species//,/ }; do classes+=(--class "$sp=$cache/$sp.fa"); done
echo "species: $species; holdout $holdout; device $device; $threads threads; preset $preset, $steps steps of $tokens tokens" >&2
for sp in ${species//,/ }; do
  printf '  %-12s %s\n' "$sp" "$(lengths_of "$cache/$sp.fa" | awk '{ n++; b += $2 } END { printf "%d contigs, %d bases", n, b }')" >&2
done

get() { jq -r "$2 // \"-\"" "$1"; }
table=$out/results.tsv
printf 'method\twindow\twindows scored\taccuracy\tmacro-F1\tseconds\n' > "$table"
for L in ${lengths//,/ }; do
  d=$out/L$L
  rm -rf "$d"; mkdir -p "$d"
  batch=$(( tokens / L )); [ "$batch" -ge 1 ] || batch=1
  : > "$d/heldout.bed"
  for sp in ${species//,/ }; do heldout_bed "$sp" "$L" "$eval_windows" >> "$d/heldout.bed"; done

  t0=$SECONDS
  "$ssmtk" dna train-classifier "${classes[@]}" --out "$d/mamba" --preset "$preset" --seq-len "$L" --batch "$batch" \
      --steps "$steps" --lr "$lr" --warmup $(( steps / 10 )) --holdout "$holdout" --eval-windows "$eval_windows" --rc-augment \
      --device "$device" --threads "$threads" --log-every 10
  t_train=$(( SECONDS - t0 ))
  t0=$SECONDS
  "$ssmtk" dna classify --model "$d/mamba/model" --reference "$all" --labeled-bed "$d/heldout.bed" --output "$d/calls.tsv" \
      --metrics "$d/classify.json" --device "$device" --threads "$threads"
  t_cls=$(( SECONDS - t0 ))
  t0=$SECONDS
  "$ssmtk" dna classify --model "$d/mamba/model" --reference "$all" --labeled-bed "$d/heldout.bed" --output "$d/calls-rc.tsv" \
      --metrics "$d/classify-rc.json" --rc-average --device "$device" --threads "$threads"
  t_rc=$(( SECONDS - t0 ))
  t0=$SECONDS
  "$ssmtk" dna kmer-baseline "${classes[@]}" --out "$d/kmer" --k 6 --seq-len "$L" --holdout "$holdout" --eval-windows "$eval_windows"
  t_kmer=$(( SECONDS - t0 ))

  row() { printf '%s\t%s\t%s\t%.4f\t%.4f\t%s\n' "$1" "$L" "$(get "$2" .examples)" "$(get "$2" .accuracy)" "$(get "$2" .macro_f1)" "$3" >> "$table"; }
  row "mamba ($preset, $steps steps), train-classifier eval" "$d/mamba/eval.json" "$t_train (train+eval)"
  row "mamba, dna classify" "$d/classify.json" "$t_cls"
  row "mamba, dna classify --rc-average" "$d/classify-rc.json" "$t_rc"
  row "6-mer softmax regression" "$d/kmer/eval.json" "$t_kmer"
done
echo
column -t -s $'\t' "$table"
echo "(table: $table; per-class numbers and confusion matrices in $out/L*/{mamba/eval,classify,classify-rc,kmer/eval}.json)"
