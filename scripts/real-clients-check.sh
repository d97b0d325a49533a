#!/usr/bin/env bash
# Issue 15: what ssmtk writes, read by the real clients. After scripts/test.sh, cli's tests leave the
# BAM/CRAM files classify-reads wrote in cli/target/written-alignments/ (with the FASTA the CRAMs need).
# Every one must pass samtools quickcheck and samtools view; Picard's ValidateSamFile must find nothing
# in the CRAM -> BAM round trip (back.bam) that it does not find in the input (old.bam). The VCF that ssmtk
# gather vcf joined from a scattered score-variants run's parts (cli/target/written-variants/) must be read by
# bcftools, through its rebuilt tabix index too.
set -euo pipefail
cd "$(dirname "$0")/.."
d=cli/target/written-alignments
[ -d "$d" ] || { echo "real-clients-check: no $d (run scripts/test.sh first)" >&2; exit 1; }
command -v samtools >/dev/null || { echo "real-clients-check: samtools is not installed" >&2; exit 1; }
n=0
for f in "$d"/*.bam "$d"/*.cram; do
  samtools quickcheck -v "$f"
  samtools view --reference "$d/ref.fa" "$f" >/dev/null
  n=$((n + 1))
done
echo "real-clients-check: samtools quickcheck and view passed on $n files"
picard=$(command -v PicardCommandLine || command -v picard-tools || true)
if [ -z "$picard" ]; then echo "real-clients-check: Picard is not installed" >&2; exit 1; fi
summary() { # the error and warning types ValidateSamFile reports (its exit status is non-zero when it finds any)
  "$picard" ValidateSamFile I="$1" R="$d/ref.fa" MODE=SUMMARY QUIET=true VERBOSITY=ERROR 2>/dev/null \
    | awk -F'\t' '/^(ERROR|WARNING):/ {print $1}' | sort -u || true
}
before=$(summary "$d/old.bam"); after=$(summary "$d/back.bam")
new=$(comm -13 <(echo "$before") <(echo "$after"))
if [ -n "$new" ]; then echo "real-clients-check: ValidateSamFile finds in the CRAM -> BAM round trip what the input did not have: $new" >&2; exit 1; fi
# old.bam has no NM (as a CRAM that samtools wrote decodes); classify-reads restores it from the reference
if grep -q 'TAG_NM' <<<"$after"; then echo "real-clients-check: NM missing or wrong after the CRAM -> BAM round trip: $after" >&2; exit 1; fi
echo "real-clients-check: Picard ValidateSamFile reports nothing new on the CRAM -> BAM round trip (input: $(echo ${before:-clean}); NM restored)"
v=cli/target/written-variants/gathered.vcf.gz
[ -f "$v" ] || { echo "real-clients-check: no $v (run scripts/test.sh first)" >&2; exit 1; }
command -v bcftools >/dev/null || { echo "real-clients-check: bcftools is not installed" >&2; exit 1; }
all=$(bcftools view -H "$v" | wc -l)
byIndex=0
for c in $(tabix -l "$v"); do byIndex=$((byIndex + $(bcftools view -H -r "$c" "$v" | wc -l))); done
if [ "$all" -eq 0 ] || [ "$all" -ne "$byIndex" ]; then echo "real-clients-check: bcftools reads $all records of $v, $byIndex through its index" >&2; exit 1; fi
echo "real-clients-check: bcftools reads the gathered VCF ($all records, the same through its tabix index)"
