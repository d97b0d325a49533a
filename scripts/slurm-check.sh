#!/usr/bin/env bash
# The exported, scattered dna-score pipeline on a real scheduler: starts the one-node SLURM cluster
# (scripts/slurm-cluster.sh), exports workflows/examples/dna-score.yaml with --scatter 2000 (6 score
# shards over small.fa's 3 contigs) and runs it with Nextflow's slurm executor. The first run has one
# score shard cancelled with scancel while it runs, so it fails; the second (-resume) must redo only
# the tasks that did not complete. Checks: every task of both runs is a SLURM job (its job id, from
# Nextflow's trace, is in slurmctld's job completion log: there is no slurmdbd, so no sacct), the
# cancelled job is logged CANCELLED, the resumed run takes every task that completed from the cache
# and reruns the rest, and the gathered bedGraph equals a single `ssmtk dna score` over the whole FASTA
# with the same model, byte for byte. Needs root, Debian's munge/slurmctld/slurmd/slurm-client and the
# built CLI; SLURM_KEEP=1 leaves the cluster running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${SLURM_CHECK_DIR:-$root/target/slurm-check}
rm -rf "$out" && mkdir -p "$out"
. scripts/nextflow-env.sh
fail() { echo "slurm-check: $*" >&2; exit 1; }
say() { echo "slurm-check: $* ($((SECONDS - t0)) s)"; }
t0=$SECONDS

eval "$(scripts/slurm-cluster.sh start)"
[ "${SLURM_KEEP:-0}" = 1 ] || trap '"$root/scripts/slurm-cluster.sh" stop' EXIT
jobcomp=$(dirname "$SLURM_CONF")/jobcomp.log
touch "$jobcomp"
before=$(wc -l < "$jobcomp")   # a kept cluster's log holds earlier runs' jobs
say "cluster up: $(sinfo -h -N -o '%N %c CPUs %t')"

ssmtk workflow export --nextflow "$out/pipeline" --scatter 2000 workflows/examples/dna-score.yaml > /dev/null
cat > "$out/ci.config" <<'CONF'
// CI: quick polling, and shards on one CPU each so two run at once on the 2-CPU node. A shard of the
// tiny model takes about a second, less than it takes to see it running and cancel it, so each one
// first waits 5 s: the cancel then lands while the shard runs.
executor { pollInterval = '1 sec'; queueStatInterval = '1 sec'; exitReadTimeout = '30 sec' }
process { withName: 'SCORE' { cpus = 1; beforeScript = 'sleep 5' } }
CONF
cd "$out"
# the export's samplesheet.csv names the descriptor's files (relative to the pipeline): one sample, dna-score
run() { nextflow run pipeline -profile slurm -c ci.config --input pipeline/samplesheet.csv --outdir results "$@"; }
res=results/dna-score
# trace columns by name -> "name<TAB>status<TAB>native_id" rows
tasks() { awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } { print $c["name"] "\t" $c["status"] "\t" $c["native_id"] }' "$1"; }

run -with-trace trace1.txt > run1.log 2>&1 &
nf=$!
# Once two shards have completed, cancel one that is running. scancel also succeeds on a job that is
# just completing, so the cancel counts only once slurmctld logs that job CANCELLED; otherwise the
# next running shard is tried.
killed=""
while [ -z "$killed" ] && kill -0 "$nf" 2>/dev/null; do
  if [ "$(tail -n +$((before + 1)) "$jobcomp" | grep -c 'Name=nf-SCORE_.*JobState=COMPLETED' || true)" -ge 2 ]; then
    job=$(squeue -h -t R -o '%i %j' | awk '/SCORE/ { print $1; exit }')
    if [ -n "$job" ] && scancel "$job" 2>/dev/null; then
      for _ in $(seq 100); do grep -q "^JobId=$job " "$jobcomp" && break; sleep 0.1; done
      grep -q "^JobId=$job .*JobState=CANCELLED" "$jobcomp" && killed=$job
    fi
  fi
  sleep 0.2
done
if wait "$nf"; then fail "run 1 succeeded although a score shard was to be cancelled (saw none running?)"; fi
[ -n "$killed" ] || { cat run1.log; fail "run 1 ended before a score shard ran"; }
say "run 1: job $killed (a score shard) cancelled with scancel while running; the run failed as it should"

run -with-trace trace2.txt -resume > run2.log 2>&1 || { cat run2.log; fail "run 2 (-resume) failed"; }
say "run 2 (-resume) finished"

# Every task submitted in either run went through sbatch: its job id is in the job completion log.
for t in trace1.txt trace2.txt; do
  while IFS=$'\t' read -r name status id; do
    [ "$status" = CACHED ] && continue
    [[ "$id" =~ ^[0-9]+$ ]] || fail "$t: task '$name' has no SLURM job id ('$id')"
    grep -q "^JobId=$id " "$jobcomp" || fail "$t: task '$name' (job $id) is not in $jobcomp"
  done < <(tasks "$t")
done
grep -q "^JobId=$killed .*JobState=CANCELLED" "$jobcomp" || fail "job $killed is not logged CANCELLED"
# -resume redid exactly what had not completed.
tasks trace1.txt | awk -F'\t' '$2 == "COMPLETED" { print $1 }' | sort > done1
tasks trace2.txt | awk -F'\t' '$2 == "CACHED" { print $1 }' | sort > cached2
tasks trace2.txt | awk -F'\t' '$2 == "COMPLETED" { print $1 }' | sort > redone2
cmp -s done1 cached2 || { diff done1 cached2 || true; fail "run 2 did not take exactly run 1's completed tasks from the cache"; }
shards=$(cat done1 redone2 | grep -c '^SCORE (' || true)
[ "$shards" -eq 6 ] || fail "score shards completed over both runs: $shards, not 6"
killed_name=$(tasks trace1.txt | awk -F'\t' -v id="$killed" '$3 == id { print $1 }')
grep -qxF "$killed_name" redone2 || fail "the cancelled task '$killed_name' was not rerun"
say "SLURM jobs: $(grep -c '^JobId=' "$jobcomp") in the completion log; run 1 completed $(wc -l < done1) tasks, run 2 took those from the cache and ran $(wc -l < redone2) ($(paste -sd, redone2))"

# Each score task had the FASTA's .fai staged beside it, and its JVM heap from task.memory (4 GB -> 5/6).
for d in $(grep -l 'ssmtk dna score' work/*/*/.command.sh | xargs -n 1 dirname); do
  [ "$(cat "$d/.exitcode" 2>/dev/null)" = 0 ] || continue   # tasks that ran to the end
  [ -e "$d/fasta/small.fa.fai" ] || fail "$d: small.fa.fai not staged beside the FASTA"
  grep -q "SSMTK_JAVA_OPTS='-Xmx3413m'" "$d/.command.sh" || fail "$d: no -Xmx from task.memory"
done
# The gathered scores equal one unsplit job's with the same model.
ssmtk dna score --model "$res"/pretrain/run/model --fasta "$root/test-data/genomics/small.fa" --window 50 --threads 2 \
  --output single.bedGraph 2> single.log
cmp "$res"/score/small.bedGraph single.bedGraph || fail "gathered bedGraph differs from the single-job run"
[ ! -e "$res"/score/shards ] || fail "shards were published"
say "gathered bedGraph ($(($(wc -l < single.bedGraph) - 1)) windows from 6 shards) equals the single-job run byte for byte"

# MultiQC (Debian's 1.14) reads the finished pipeline's results: its parsed tables must hold ssmtk's
# custom-content sections with the numbers of this run (checked against the published files, not our JSON).
multiqc -q -f results -o multiqc > multiqc.log 2>&1 || { cat multiqc.log; fail "multiqc failed"; }
table=multiqc/multiqc_data/multiqc_ssmtk_summary_table.txt
[ -s "$table" ] || fail "MultiQC found no ssmtk summary table ($(ls multiqc/multiqc_data | paste -sd' '))"
col() { awk -F'\t' -v row="$1" -v key="$2" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $1 == row { print $c[key] }' "$table"; }
[ "$(col run steps)" = 40 ] || fail "MultiQC's table: run steps '$(col run steps)', not 40"
want=$(awk -F'\t' 'NR > 1 { s += $4; n++ } END { printf "%.9f", s / n }' "$res"/score/small.bedGraph)
awk -v a="$(col small.bedGraph mean_score_bits)" -v b="$want" 'BEGIN { d = a - b; exit !(a != "" && d < 1e-9 && d > -1e-9) }' \
  || fail "MultiQC's mean score $(col small.bedGraph mean_score_bits) is not the bedGraph's mean $want"
points=$(awk -F'\t' '$1 == "run" { print NF - 1 }' multiqc/multiqc_data/multiqc_ssmtk_loss_plot.txt)
[ "${points:-0}" -ge 2 ] || fail "MultiQC's loss plot has no curve for run"
plot10=$(awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $1 == "run" { print $c["10"] }' multiqc/multiqc_data/multiqc_ssmtk_loss_plot.txt)
loss10=$(sed -n 's/^{"step":10,"loss":\([^,]*\),.*/\1/p' "$res"/pretrain/run/metrics.jsonl)
awk -v a="$plot10" -v b="$loss10" 'BEGIN { d = a - b; exit !(a != "" && b != "" && d < 1e-12 && d > -1e-12) }' \
  || fail "MultiQC's loss at step 10 ($plot10) is not metrics.jsonl's ($loss10)"
grep -q 'ssmtk training loss' multiqc/multiqc_report.html || fail "multiqc_report.html has no ssmtk loss section"
say "MultiQC $(multiqc --version 2>&1 | grep -o '[0-9][0-9.]*$'): ssmtk table (run: 40 steps; small.bedGraph: mean $want bits) and loss plot ($points points) parsed from multiqc_data/"
