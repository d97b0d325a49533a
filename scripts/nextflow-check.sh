#!/usr/bin/env bash
# Runs the Nextflow side with real Nextflow (24.10.0, resolved from Maven Central: no launcher
# download, no GitHub): exports each workflows/examples descriptor with `ssmtk workflow export
# --nextflow`, dry-runs it with -stub-run, runs the examples for real and checks their outputs (audio.yaml's,
# whose steps read manifests, against the local runner's), runs manifests with '..' and absolute paths and a
# scattered score-variants over an indexed VCF against the local runner, runs the
# scattered dna-classify (FASTA shards) and dna-reads (BAM shards, planned by a task) pipelines and
# compares their gathered files with single jobs byte for byte, runs the shipped nf-core-style
# modules (modules/ssmtk/) through modules/ssmtk/tests/main.nf, stubbed and for real, and then each
# module under nf-test with snapshots where nf-test can be built (scripts/nf-test-env.sh: from its sources).
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
  # file params have no default (no path of the exporting machine): the export's samplesheet.csv names the descriptor's files
  ! grep -q "$root" "$out/$name/nextflow.config" "$out/$name/main.nf" || fail "$name: an absolute path of this machine in the pipeline"
  nextflow run "$out/$name" -stub-run --input "$out/$name/samplesheet.csv" --outdir "$out/$name-stub" > "$out/$name-stub.log" 2>&1 \
    || { cat "$out/$name-stub.log"; fail "$name: -stub-run failed"; }
  grep -q 'ssmtk:' "$out/$name-stub/pipeline_info/ssmtk_versions.yml" || fail "$name: no versions collected"
  echo "nextflow-check: $name: -stub-run ok ($(grep -c 'Submitted process' "$out/$name-stub.log") tasks)"
done

# A samplesheet fans the scattered dna-score pipeline out per sample (stub run): s2's FASTA is the bgzip
# one, whose .fai and .gzi must be staged beside it; each sample's results land in its own folder. s1's
# paths are relative: to the samplesheet's folder, not to where Nextflow runs.
ssmtk workflow export --nextflow "$out/dna-score-scattered" --scatter 2000 "$root/workflows/examples/dna-score.yaml" > /dev/null
mkdir -p "$out/sheets" "$out/data" && cp "$root"/test-data/genomics/small.fa "$root"/test-data/genomics/small.fa.fai "$out/data/"
printf 'sample,pretrain_fasta,score_fasta\ns1,../data/small.fa,../data/small.fa\ns2,%s,%s\n' "$root/test-data/genomics/small.fa" \
  "$root/test-data/genomics/small.bgzf.fa.gz" > "$out/sheets/samples.csv"
nextflow run "$out/dna-score-scattered" -stub-run --input "$out/sheets/samples.csv" --outdir "$out/samples-stub" > "$out/samples-stub.log" 2>&1 \
  || { cat "$out/samples-stub.log"; fail "dna-score --scatter with a samplesheet: -stub-run failed"; }
for f in s1/score/small.bedGraph s2/score/small.bedGraph s1/report/report.html s2/report/report.html; do
  [ -e "$out/samples-stub/$f" ] || fail "samplesheet run: no $f"
done
[ "$(grep -c 'Submitted process > SCORE (s[12] ' "$out/samples-stub.log")" -eq 12 ] || fail "samplesheet run: not 2 samples x 6 score shards"
[ "$(ls work/*/*/fasta/small.bgzf.fa.gz.gzi 2>/dev/null | wc -l)" -eq 6 ] || fail "samplesheet run: the .gzi was not staged beside s2's FASTA"
echo "nextflow-check: dna-score --scatter 2000 with a 2-sample samplesheet: -stub-run ok (12 score shards, indexes staged, per-sample results)"

# Real runs through Nextflow's local executor: each example end to end, outputs checked.
# Real runs through Nextflow's local executor: each example end to end, outputs checked (results under
# OUTDIR/SAMPLE/STEP, the sample being the workflow's name in the exported samplesheet). The classifier
# run writes checkpoints: a run folder is published without them (and without its lock).
nextflow run "$out/dna-classify" --input "$out/dna-classify/samplesheet.csv" --outdir "$out/dna-classify-real" --train_steps 10 \
  --train_checkpoint_every 5 > "$out/dna-classify-real.log" 2>&1 || { cat "$out/dna-classify-real.log"; fail "dna-classify: real run failed"; }
published=$out/dna-classify-real/dna-classify
[ -f "$published/train/run/model/model.safetensors" ] || fail "dna-classify: no trained model published"
[ -f "$published/train/run/metrics.jsonl" ] && [ -f "$published/train/run/eval.json" ] || fail "dna-classify: run results not published"
[ ! -e "$published/train/run/checkpoints" ] && [ ! -e "$published/train/run/.ssmtk.lock" ] || fail "dna-classify: checkpoints or the run lock published"
ls -d work/*/*/.checkpoints_run/step-00000010 > /dev/null 2>&1 || fail "dna-classify: the training task wrote no checkpoints (nothing was kept back)"
rows=$(tail -n +2 "$published/classify/class-b.tsv" | wc -l)
[ "$rows" -gt 0 ] || fail "dna-classify: classify wrote no rows"
echo "nextflow-check: dna-classify: real run ok ($rows classified windows; run folder published without checkpoints)"
# dna classify scattered into 700-base shards of class-b.fa (planned from its .fai), gathered: the TSV must
# equal one `ssmtk dna classify` over the whole FASTA with the published model, byte for byte.
ssmtk workflow export --nextflow "$out/dna-classify-scattered" --scatter 700 "$root/workflows/examples/dna-classify.yaml" > /dev/null
cp "$root/test-data/genomics/class-b.fa" "$out/data/" && samtools faidx "$out/data/class-b.fa"
printf 'sample,train_class_1,train_class_2,classify_fasta\ns1,%s,%s,%s\n' "$root/test-data/genomics/class-a.fa" \
  "$root/test-data/genomics/class-b.fa" "$out/data/class-b.fa" > "$out/sheets/classify.csv"
nextflow run "$out/dna-classify-scattered" --input "$out/sheets/classify.csv" --outdir "$out/classify-scattered" --train_steps 10 \
  > "$out/classify-scattered.log" 2>&1 || { cat "$out/classify-scattered.log"; fail "dna-classify --scatter 700: real run failed"; }
shards=$(grep -c 'Submitted process > CLASSIFY (s1 ' "$out/classify-scattered.log")
[ "$shards" -eq 8 ] || fail "dna-classify --scatter 700: $shards classify shards, not 8 (3000 + 2000 bases)"
ssmtk dna classify --model "$out/classify-scattered/s1/train/run/model" --fasta "$out/data/class-b.fa" --seq-len 64 --threads 2 \
  --output "$out/classify-single.tsv" > /dev/null 2>&1
cmp "$out/classify-scattered/s1/classify/class-b.tsv" "$out/classify-single.tsv" || fail "dna-classify: gathered TSV differs from the single-job run"
echo "nextflow-check: dna-classify --scatter 700: gathered TSV ($(($(wc -l < "$out/classify-single.tsv") - 1)) rows from $shards shards) equals the single-job run byte for byte"
# dna classify-reads scattered (dna-reads.yaml, --scatter 1500): a planning task (ssmtk scatter plan) cuts reads.bam
# into 1500-base pieces of its 2 @SQ (3000 + 2000 bases) plus the unplaced unmapped reads, one task each, and
# ssmtk gather joins their TSVs and BAMs. The single job is one shard's own task script without its --shard,
# run in a copy of its staged folder (the same command line, so the same @PG line): TSV and BAM must be its
# bytes, samtools must read the BAM, and its header must hold the input's @PG line and exactly one ssmtk @PG.
ssmtk workflow export --nextflow "$out/dna-reads-scattered" --scatter 1500 "$root/workflows/examples/dna-reads.yaml" > /dev/null
nextflow run "$out/dna-reads-scattered" --input "$out/dna-reads-scattered/samplesheet.csv" --outdir "$out/reads-scattered" \
  > "$out/reads-scattered.log" 2>&1 || { cat "$out/reads-scattered.log"; fail "dna-reads --scatter 1500: real run failed"; }
shards=$(grep -c 'Submitted process > READS (dna-reads ' "$out/reads-scattered.log")
[ "$shards" -eq 5 ] || fail "dna-reads --scatter 1500: $shards classify-reads shards, not 5 (2 + 2 pieces of the @SQ, and '*')"
task=$(dirname "$(grep -l -- "^ *--shard '\*'" $(grep -l 'ssmtk dna classify-reads' work/*/*/.command.sh) | head -n 1)")
mkdir -p "$out/reads-single" && cp -P -r "$task/input" "$task/model" "$out/reads-single/"
sed -n '2,/^$/p' "$task/.command.sh" | grep -v -- '--shard' > "$out/reads-single/run.sh"
(cd "$out/reads-single" && bash run.sh > run.log 2>&1) || { cat "$out/reads-single/run.log"; fail "dna-reads: the single job failed"; }
gathered=$out/reads-scattered/dna-reads/reads
cmp "$gathered/calls.tsv" "$out/reads-single/calls.tsv" || fail "dna-reads: gathered TSV differs from the single job's"
cmp "$gathered/tagged.bam" "$out/reads-single/tagged.bam" || fail "dna-reads: gathered BAM differs from the single job's"
samtools quickcheck -v "$gathered/tagged.bam" || fail "dna-reads: samtools quickcheck rejects the gathered BAM"
[ "$(samtools view -c "$gathered/tagged.bam")" -eq 280 ] || fail "dna-reads: the gathered BAM does not hold reads.bam's 280 records"
samtools view --no-PG -H "$gathered/tagged.bam" > "$out/reads-header.txt"
[ "$(grep -c '^@PG.*PN:ssmtk' "$out/reads-header.txt")" -eq 1 ] && grep -q '^@PG	ID:make-reads' "$out/reads-header.txt" \
  || fail "dna-reads: the gathered header lacks the input's @PG line or has not exactly one ssmtk @PG: $(grep '^@PG' "$out/reads-header.txt")"
echo "nextflow-check: dna-reads --scatter 1500: gathered TSV ($(($(wc -l < "$gathered/calls.tsv") - 1)) reads) and BAM from $shards shards equal the single job byte for byte (samtools reads it; one ssmtk @PG)"

# audio.yaml for real: its steps read manifests (--manifest, --test-manifest, --real-manifest) naming WAVs relative to
# the manifest's folder; main.nf lists them and each task stages them where the manifest points. The local runner
# (ssmtk workflow run) on the same descriptor must train the same models and generate the same WAVs, byte for byte;
# the JSON results must agree but for the paths in them (each names the file where its task saw it).
nextflow run "$out/audio" --input "$out/audio/samplesheet.csv" --outdir "$out/audio-real" > "$out/audio-real.log" 2>&1 \
  || { cat "$out/audio-real.log"; fail "audio: real run failed (manifests' WAVs not staged?)"; }
ssmtk workflow run "$root/workflows/examples/audio.yaml" --work "$out/audio-local" --cpus 2 > "$out/audio-local.log" 2>&1 \
  || { cat "$out/audio-local.log"; fail "audio: the local runner failed"; }
nopaths() { grep -vE '"(input|model|source)" :|every clip of --test-manifest' "$1"; }
same=0
for f in piano-lm/piano/model/model.safetensors digits-lm/digits/model/model.safetensors digits-classifier/classifier/model/model.safetensors \
         digits-generate/digit-gen/000.wav digits-generate/digit-gen/003.wav piano-generate/piano-gen/001.wav; do
  cmp "$out/audio-local/$f" "$out/audio-real/audio/$(echo "${f%%/*}" | tr - _)/${f#*/}" || fail "audio: $f differs from the local runner's"
  same=$((same + 1))
done
for f in piano-lm/piano/eval.json digits-classifier/classifier/eval.json score/scores.json; do
  cmp <(nopaths "$out/audio-local/$f") <(nopaths "$out/audio-real/audio/$(echo "${f%%/*}" | tr - _)/${f#*/}") || fail "audio: $f differs from the local runner's"
  same=$((same + 1))
done
echo "nextflow-check: audio: real run ok (manifests' WAVs staged; $same results equal the local runner's: models and WAVs byte for byte, JSON but for paths)"

# Manifests whose paths climb out of their folder ('..'), take a detour ('sub/..'), repeat a file as a segment and
# name one absolute path (read in place, with a warning), scored as shards (--scatter-clips 2: a planning task reads
# the manifest too); and dna score-variants scattered over an indexed VCF (each shard queries its region through the
# .tbi) with the model staged in every task's own folder. Both against the local runner: the gathered VCF and .tbi
# byte for byte (the header names the model by name and digest, not path), the clip table but for where each task
# saw the WAVs.
mkdir -p "$out/more/data/genomics"
cp -r "$root/test-data/audio/piano" "$root/test-data/audio/digits" "$out/more/data/"
cp "$root"/test-data/genomics/small.fa "$root"/test-data/genomics/small.fa.fai "$root"/test-data/genomics/small.vcf.gz* "$out/more/data/genomics/"
printf 'path\tlabel\tstart\tend\npiece-000.wav\ta\n../digits/wav/test/zero-en-us-john.wav\tb\nsub/../piece-001.wav\ta\npiece-000.wav\ta\t0.1\t0.3\n%s\tc\n' \
  "$root/test-data/audio/tone-16k-16bit.wav" > "$out/more/data/piano/mixed.tsv"
cat > "$out/more/more.yaml" <<'YAML'
name: more
inputs: [data]
steps:
  - id: alm
    op: audio.train-lm
    params: {manifest: data/piano/mixed.tsv, out: run, sample-rate: 8000, d-model: 8, layers: 1, seq-len: 128, batch: 2, steps: 5, checkpoint-every: 0, threads: 1}
  - id: clips
    op: audio.score
    needs: [alm]
    params: {model: "${alm}/run/model", manifest: data/piano/mixed.tsv, output: clips.tsv, threads: 1}
  - id: lm
    op: dna.pretrain
    params: {fasta: data/genomics/small.fa, out: run, preset: tiny, seq-len: 64, batch: 4, steps: 5, checkpoint-every: 0, threads: 1}
  - id: variants
    op: dna.score-variants
    needs: [lm]
    params: {model: "${lm}/run/model", fasta: data/genomics/small.fa, vcf: data/genomics/small.vcf.gz, out: scored.vcf.gz, window: 32, threads: 1}
YAML
ssmtk workflow export --nextflow "$out/more-nf" --scatter 1000 --scatter-clips 2 "$out/more/more.yaml" > /dev/null
nextflow run "$out/more-nf" --input "$out/more-nf/samplesheet.csv" --outdir "$out/more-real" > "$out/more-real.log" 2>&1 \
  || { cat "$out/more-real.log"; fail "manifests and variants scattered: real run failed"; }
ssmtk workflow run "$out/more/more.yaml" --work "$out/more-local" --cpus 2 > "$out/more-local.log" 2>&1 \
  || { cat "$out/more-local.log"; fail "manifests and variants: the local runner failed"; }
clips=$(grep -c 'Submitted process > CLIPS (more ' "$out/more-real.log")
vshards=$(grep -c 'Submitted process > VARIANTS (more ' "$out/more-real.log")
[ "$clips" -eq 3 ] || fail "audio score --scatter-clips 2: $clips shards, not 3 (5 manifest rows)"
grep -q 'mixed.tsv: 1 absolute path(s)' "$out/more-real.log" || fail "no warning that the manifest's absolute path is read in place"
cmp <(sed "s#^$out/more/data/##" "$out/more-local/clips/clips.tsv") <(sed 's#^[^\t]*/work/[0-9a-f]*/[0-9a-f]*/manifest/##' "$out/more-real/more/clips/clips.tsv") \
  || fail "audio score over the manifest: gathered clip table differs from the local runner's"
gathered=$out/more-real/more/variants/scored.vcf.gz
cmp "$gathered" "$out/more-local/variants/scored.vcf.gz" && cmp "$gathered.tbi" "$out/more-local/variants/scored.vcf.gz.tbi" \
  || fail "score-variants --scatter 1000: gathered VCF or .tbi differs from the local runner's"
[ "$(grep -l 'records read through' work/*/*/.command.err | wc -l)" -eq "$vshards" ] || fail "score-variants: not every shard read its region through the .tbi"
[ "$(bcftools view -H "$gathered" | wc -l)" -eq 30 ] && bcftools query -f '%INFO/SSMTK_LLR\n' -r chrM "$gathered" > /dev/null \
  || fail "score-variants: bcftools cannot read the gathered VCF"
echo "nextflow-check: manifests (.., absolute, segments; $clips clip shards) and score-variants ($vshards shards through the .tbi, staged models): gathered outputs equal the local runner's (VCF and .tbi byte for byte)"

for name in dna-species audio-generate dna-score; do
  nextflow run "$out/$name" --input "$out/$name/samplesheet.csv" --outdir "$out/$name-real" > "$out/$name-real.log" 2>&1 \
    || { cat "$out/$name-real.log"; fail "$name: real run failed"; }
  grep -q '<h2>Training curve: run' "$out/$name-real/$name/report/report.html" || fail "$name: report.html has no training curve"
  [ -s "$out/$name-real/$name/report/report_mqc.json" ] || fail "$name: no MultiQC file published"
  echo "nextflow-check: $name: real run ok (report.html with $(grep -c '<section' "$out/$name-real/$name/report/report.html") sections, report_mqc.json)"
done
grep -q '<h2>ROC: AT vs GC' "$out/dna-species-real/dna-species/report/report.html" || fail "dna-species: report.html has no ROC curve"
grep -q "<title>AT vs GC: it's real</title>" "$out/dna-species-real/dna-species/report/report.html" || fail "dna-species: --param title with a quote did not arrive intact"
grep -q '<h2>Score track: ' "$out/dna-score-real/dna-score/report/report.html" || fail "dna-score: report.html has no score track"

# The shipped nf-core-style modules wired together on the test data: stubbed, then for real (outputs
# checked, the gathers' by samtools and bcftools, every module's version arriving on the versions topic).
nextflow run "$root/modules/ssmtk/tests/main.nf" -stub-run --outdir "$out/modules-stub" --testdata "$root/test-data" > "$out/modules-stub.log" 2>&1 \
  || { cat "$out/modules-stub.log"; fail "modules/ssmtk: -stub-run failed"; }
echo "nextflow-check: modules/ssmtk: -stub-run ok ($(grep -c 'Submitted process' "$out/modules-stub.log") tasks)"
nextflow run "$root/modules/ssmtk/tests/main.nf" --outdir "$out/modules-real" --testdata "$root/test-data" > "$out/modules-real.log" 2>&1 \
  || { cat "$out/modules-real.log"; fail "modules/ssmtk: real run failed"; }
for f in ssmtk_dnapretrain/small/model/model.safetensors ssmtk_dnascore/small.bedGraph ssmtk_dnaclassify/class_b.tsv \
         ssmtk_audiogenerate/tones.wav ssmtk_reporthtml/report.html ssmtk_reporthtml/report_mqc.json \
         ssmtk_gathertsv/class_b_twice.tsv ssmtk_gatherbam/reads.bam ssmtk_gathervcf/small.vcf.gz ssmtk_gathervcf/small.vcf.gz.tbi; do
  [ -s "$out/modules-real/$f" ] || fail "modules/ssmtk: real run published no $f"
done
# the gathers: two parts under one header line; one part through unchanged, read by samtools and bcftools
m=$out/modules-real
[ "$(wc -l < "$m/ssmtk_gathertsv/class_b_twice.tsv")" -eq $((2 * $(wc -l < "$m/ssmtk_dnaclassify/class_b.tsv") - 1)) ] \
  || fail "modules/ssmtk: gathertsv did not join two parts under one header"
cmp <(samtools view "$m/ssmtk_gatherbam/reads.bam") <(samtools view "$root/test-data/genomics/reads.bam") || fail "modules/ssmtk: gatherbam changed the records"
cmp <(bcftools view -H "$m/ssmtk_gathervcf/small.vcf.gz") <(bcftools view -H "$root/test-data/genomics/small.vcf.gz") \
  || fail "modules/ssmtk: gathervcf changed the records"
[ "$(bcftools view -H -r chrM "$m/ssmtk_gathervcf/small.vcf.gz" | wc -l)" -eq 4 ] || fail "modules/ssmtk: bcftools cannot query the gathered VCF through its index"
[ "$(grep -c '^"SSMTK_.*":$' "$out/modules-real/pipeline_info/versions.yml")" -eq 10 ] || fail "modules/ssmtk: versions.yml (from the versions topic) lacks a module"
grep -q '^    ssmtk: [0-9]' "$out/modules-real/pipeline_info/versions.yml" || fail "modules/ssmtk: the versions topic carried no ssmtk version"
echo "nextflow-check: modules/ssmtk: real run ok ($(grep -c 'Submitted process' "$out/modules-real.log") tasks, outputs checked)"
# Each module for real under nf-test (modules/ssmtk/*/tests/main.nf.test): its deterministic outputs against
# the committed snapshots (--ci: a missing snapshot fails instead of being written). Without nf-test
# (scripts/nf-test-env.sh says why; CI cannot fetch its sources) only the real run above checks them.
. "$root/scripts/nf-test-env.sh"
if [ -n "$nf_test_jar" ]; then
  (cd "$root" && NFT_WORKDIR="$out/nf-test" nf_test test --ci > "$out/nf-test.log" 2>&1) \
    || { cat "$out/nf-test.log"; fail "modules/ssmtk: nf-test failed"; }
  echo "nextflow-check: modules/ssmtk: nf-test ok: $(sed 's/\x1b\[[0-9;]*m//g' "$out/nf-test.log" | grep -o 'Executed [0-9]* tests in [0-9.]*s'), snapshots matched"
else
  echo "nextflow-check: modules/ssmtk: nf-test not run: $nf_test_why"
fi
