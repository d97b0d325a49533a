#!/usr/bin/env bash
# Runs the Nextflow side with real Nextflow (24.10.0, resolved from Maven Central: no launcher
# download, no GitHub): exports each workflows/examples descriptor with `ssmtk workflow export
# --nextflow`, dry-runs it with -stub-run, runs the DNA example for real and checks its outputs, and
# stub-runs the shipped nf-core-style modules (modules/ssmtk/) through modules/ssmtk/tests/main.nf.
# Needs the built CLI (scripts/build.sh or scripts/test.sh) and a JDK 17..23 for Nextflow itself (its
# Groovy 4.0 cannot read Java 25 class files); CI installs openjdk-17 when there is none.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${NF_CHECK_DIR:-$root/target/nextflow-check}
rm -rf "$out" && mkdir -p "$out"

. scripts/nextflow-env.sh
fail() { echo "nextflow-check: $*" >&2; exit 1; }

cd "$out"
nextflow -version 2>&1 | grep -m1 -o 'version [0-9.]*' | sed 's/^/nextflow-check: nextflow /'
for yaml in "$root"/workflows/examples/*.yaml; do
  name=$(basename "$yaml" .yaml)
  extra=()
  # a value with a quote must reach the command intact through ext.args and the shell
  [ "$name" = dna-species ] && extra=(--param "report.title=AT vs GC: it's real")
  ssmtk workflow export --nextflow "$out/$name" "${extra[@]}" "$yaml"
  nextflow run "$out/$name" -stub-run --outdir "$out/$name-stub" > "$out/$name-stub.log" 2>&1 || { cat "$out/$name-stub.log"; fail "$name: -stub-run failed"; }
  grep -q 'ssmtk:' "$out/$name-stub/pipeline_info/ssmtk_versions.yml" || fail "$name: no versions collected"
  echo "nextflow-check: $name: -stub-run ok ($(grep -c 'Submitted process' "$out/$name-stub.log") tasks)"
done

# A samplesheet fans the scattered dna-score pipeline out per sample (stub run): s2's FASTA is the bgzip
# one, whose .fai and .gzi must be staged beside it; each sample's results land in its own folder.
ssmtk workflow export --nextflow "$out/dna-score-scattered" --scatter 2000 "$root/workflows/examples/dna-score.yaml" > /dev/null
printf 'sample,score_fasta\ns1,\ns2,%s\n' "$root/test-data/genomics/small.bgzf.fa.gz" > "$out/samples.csv"
nextflow run "$out/dna-score-scattered" -stub-run --input "$out/samples.csv" --outdir "$out/samples-stub" > "$out/samples-stub.log" 2>&1 \
  || { cat "$out/samples-stub.log"; fail "dna-score --scatter with a samplesheet: -stub-run failed"; }
for f in s1/score/small.bedGraph s2/score/small.bedGraph s1/report/report.html s2/report/report.html; do
  [ -e "$out/samples-stub/$f" ] || fail "samplesheet run: no $f"
done
[ "$(grep -c 'Submitted process > SCORE (s[12] ' "$out/samples-stub.log")" -eq 12 ] || fail "samplesheet run: not 2 samples x 6 score shards"
[ "$(ls work/*/*/fasta/small.bgzf.fa.gz.gzi 2>/dev/null | wc -l)" -eq 6 ] || fail "samplesheet run: the .gzi was not staged beside s2's FASTA"
echo "nextflow-check: dna-score --scatter 2000 with a 2-sample samplesheet: -stub-run ok (12 score shards, indexes staged, per-sample results)"

# Real runs through Nextflow's local executor: each example end to end, outputs checked.
nextflow run "$out/dna-classify" --outdir "$out/dna-classify-real" --train_steps 10 > "$out/dna-classify-real.log" 2>&1 \
  || { cat "$out/dna-classify-real.log"; fail "dna-classify: real run failed"; }
[ -f "$out/dna-classify-real/train/run/model/model.safetensors" ] || fail "dna-classify: no trained model published"
rows=$(tail -n +2 "$out/dna-classify-real/classify/class-b.tsv" | wc -l)
[ "$rows" -gt 0 ] || fail "dna-classify: classify wrote no rows"
echo "nextflow-check: dna-classify: real run ok ($rows classified windows)"
for name in dna-species audio-generate dna-score; do
  nextflow run "$out/$name" --outdir "$out/$name-real" > "$out/$name-real.log" 2>&1 || { cat "$out/$name-real.log"; fail "$name: real run failed"; }
  grep -q '<h2>Training curve: run' "$out/$name-real/report/report.html" || fail "$name: report.html has no training curve"
  [ -s "$out/$name-real/report/report_mqc.json" ] || fail "$name: no MultiQC file published"
  echo "nextflow-check: $name: real run ok (report.html with $(grep -c '<section' "$out/$name-real/report/report.html") sections, report_mqc.json)"
done
grep -q '<h2>ROC: AT vs GC' "$out/dna-species-real/report/report.html" || fail "dna-species: report.html has no ROC curve"
grep -q "<title>AT vs GC: it's real</title>" "$out/dna-species-real/report/report.html" || fail "dna-species: --param title with a quote did not arrive intact"
grep -q '<h2>Score track: ' "$out/dna-score-real/report/report.html" || fail "dna-score: report.html has no score track"

# The shipped nf-core-style modules, wired on the test data.
nextflow run "$root/modules/ssmtk/tests/main.nf" -stub-run --outdir "$out/modules-stub" --testdata "$root/test-data" > "$out/modules-stub.log" 2>&1 \
  || { cat "$out/modules-stub.log"; fail "modules/ssmtk: -stub-run failed"; }
echo "nextflow-check: modules/ssmtk: -stub-run ok ($(grep -c 'Submitted process' "$out/modules-stub.log") tasks)"
nextflow run "$root/modules/ssmtk/tests/main.nf" --outdir "$out/modules-real" --testdata "$root/test-data" > "$out/modules-real.log" 2>&1 \
  || { cat "$out/modules-real.log"; fail "modules/ssmtk: real run failed"; }
for f in ssmtk_dnapretrain/small/model/model.safetensors ssmtk_dnascore/small.bedGraph ssmtk_dnaclassify/class_b.tsv \
         ssmtk_audiogenerate/tones.wav ssmtk_reporthtml/report.html ssmtk_reporthtml/report_mqc.json; do
  [ -s "$out/modules-real/$f" ] || fail "modules/ssmtk: real run published no $f"
done
[ "$(grep -c '^"SSMTK_.*":$' "$out/modules-real/pipeline_info/versions.yml")" -eq 7 ] || fail "modules/ssmtk: versions.yml (from the versions topic) lacks a module"
grep -q '^    ssmtk: [0-9]' "$out/modules-real/pipeline_info/versions.yml" || fail "modules/ssmtk: the versions topic carried no ssmtk version"
echo "nextflow-check: modules/ssmtk: real run ok ($(grep -c 'Submitted process' "$out/modules-real.log") tasks, outputs checked)"
