package org.ssmtk.cli;

import htsjdk.samtools.SAMException;
import htsjdk.samtools.SAMFileHeader;
import htsjdk.samtools.SAMSequenceRecord;
import htsjdk.samtools.SamReader;
import htsjdk.samtools.SamReaderFactory;
import htsjdk.samtools.ValidationStringency;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.genomics.io.AlignmentFileCheck;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * {@code ssmtk scatter plan}: the shards of a scattered run, one {@code --shard} value a line, in the
 * order their parts are gathered. A pipeline plans them in a task of its own because what they are
 * depends on the file's content: the @SQ lines of a BAM/CRAM header, the contigs and positions a VCF
 * holds (in its order, which need not be the FASTA's), the clips of a manifest.
 */
final class ScatterCommands {
    private ScatterCommands() {}

    static CommandGroup group() {
        return new CommandGroup("scatter", "plan the shards of a scattered run (their --shard values, in gather order)", List.of(new Plan()));
    }

    static final class Plan implements Command {
        public String name() { return "plan"; }

        public String summary() { return "list the --shard values that split a BAM/CRAM, a VCF or a list of clips into jobs, in gather order"; }

        public String footer() {
            return "--reads (for dna classify-reads): per @SQ of the header, in header order, CONTIG:START-END pieces of --by N\n"
                    + "bases (or the whole contig with --by contigs), then '*' for the unplaced unmapped records; the input must be\n"
                    + "coordinate-sorted and indexed, as classify-reads --shard reads through the index.\n"
                    + "--vcf (for dna score-variants): per contig in the order the VCF holds them, CONTIG:START-END pieces of N\n"
                    + "bases that hold at least one record (--by contigs: one per contig), so no shard is empty; the VCF is read\n"
                    + "once and must be sorted (each contig's records together, positions ascending).\n"
                    + "--clips (for audio score): START-END ranges of --by N clips of the manifest (or folder of WAVs).\n"
                    + "Every record (clip) lies in exactly one shard, and the shards in the order listed hold them in file order,\n"
                    + "so the parts gathered in this order (ssmtk gather) are the unsplit run's output.\n\n"
                    + "example: ssmtk scatter plan --reads sorted.bam --by 10000000 --output shards.txt";
        }

        static final Opt<Path> READS = Opt.input("reads", "BAM|CRAM", "a coordinate-sorted, indexed BAM or CRAM (dna classify-reads)").existingFile();
        static final Opt<Path> VCF = Opt.input("vcf", "VCF", "a sorted VCF, .vcf or .vcf.gz (dna score-variants)").existingFile();
        static final Opt<Path> CLIPS = Opt.input("clips", "TSV|DIR", "a manifest or a folder of WAVs (audio score)").existing();
        static final Opt<String> BY = Opt.string("by", "contigs|N", "one shard per contig, or per N bases (N clips for --clips)").required();
        static final Opt<Path> OUTPUT = Opt.output("output", "FILE", "where the shards go, one a line").defaultIs("standard output");

        public List<Opt<?>> options() { return List.of(READS, VCF, CLIPS, BY, OUTPUT); }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            int given = (READS.given(cl) ? 1 : 0) + (VCF.given(cl) ? 1 : 0) + (CLIPS.given(cl) ? 1 : 0);
            if (given != 1) throw new UsageException("give exactly one of --reads, --vcf and --clips");
            String by = BY.get(cl);
            long step;
            if (by.equals("contigs")) step = 0;
            else if (by.matches("[1-9][0-9]{0,17}")) step = Long.parseLong(by);
            else throw new UsageException("--by '" + by + "' is not 'contigs' or a positive number");
            List<String> shards;
            if (READS.given(cl)) shards = reads(READS.get(cl), step);
            else if (VCF.given(cl)) shards = vcf(VCF.get(cl), step);
            else {
                if (step == 0) throw new UsageException("--clips is split by a number of clips per shard, not --by contigs");
                int n = new AudioCommands.Inputs(CLIPS.get(cl), Files.isRegularFile(CLIPS.get(cl))
                        && !CLIPS.get(cl).getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".wav")).count();
                shards = new ArrayList<>();
                for (long s = 0; s < n; s += step) shards.add(s + "-" + Math.min(n, s + step));
            }
            StringBuilder text = new StringBuilder();
            for (String s : shards) text.append(s).append('\n');
            Path output = OUTPUT.get(cl);
            if (output == null) out.print(text);
            else AtomicFiles.write(output, o -> o.write(text.toString().getBytes(StandardCharsets.UTF_8)));
            if (output != null) err.println("ssmtk scatter plan: " + shards.size() + " shards -> " + output);
            return 0;
        }

        /** Pieces of every @SQ, then '*': classify-reads --shard's partition of a sorted file. */
        private static List<String> reads(Path in, long step) throws IOException, UsageException {
            AlignmentFileCheck.checkComplete(in);
            SAMFileHeader header;
            boolean indexed;
            try (SamReader r = SamReaderFactory.makeDefault().validationStringency(ValidationStringency.STRICT).open(in)) {
                header = r.getFileHeader();
                indexed = r.hasIndex();
            } catch (SAMException e) {
                throw new IOException(in + ": " + e.getMessage(), e);
            }
            if (header.getSortOrder() != SAMFileHeader.SortOrder.coordinate)
                throw new UsageException("--reads " + in + " is not coordinate-sorted (@HD SO:" + header.getSortOrder() + "); shards follow positions");
            if (!indexed)
                throw new UsageException("--reads " + in + " has no index (.bai/.csi, or .crai for CRAM); the shards read through one: samtools index " + in);
            List<String> out = new ArrayList<>();
            for (SAMSequenceRecord sq : header.getSequenceDictionary().getSequences()) {
                long len = sq.getSequenceLength(), piece = step == 0 ? len : step;
                for (long s = 0; s < len; s += piece) out.add(sq.getSequenceName() + ":" + s + "-" + Math.min(len, s + piece));
            }
            out.add("*");
            return out;
        }

        /** Non-empty pieces of every contig, in the VCF's order; checks the order score-variants needs. */
        private static List<String> vcf(Path in, long step) throws IOException, UsageException {
            Map<String, List<Long>> pieces = new LinkedHashMap<>(); // contig -> piece starts holding records, ascending
            Map<String, Long> ends = new LinkedHashMap<>();          // contig -> last 0-based POS + 1
            String contig = null;
            long last = -1, line = 0;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(open(in), StandardCharsets.UTF_8), 1 << 16)) {
                for (String l; (l = r.readLine()) != null; ) {
                    line++;
                    if (l.startsWith("#") || l.isEmpty()) continue;
                    int t1 = l.indexOf('\t'), t2 = t1 < 0 ? -1 : l.indexOf('\t', t1 + 1);
                    if (t1 <= 0 || t2 < 0) throw new UsageException(in + ": line " + line + ": not a VCF record (CHROM and POS, tab-separated)");
                    String chrom = l.substring(0, t1);
                    long pos0;
                    try {
                        pos0 = Math.max(0, Long.parseLong(l.substring(t1 + 1, t2)) - 1); // POS 0 (a telomere's) goes with POS 1
                    } catch (NumberFormatException e) {
                        throw new UsageException(in + ": line " + line + ": POS '" + l.substring(t1 + 1, t2) + "' is not a number");
                    }
                    if (!chrom.equals(contig)) {
                        if (pieces.containsKey(chrom))
                            throw new UsageException(in + ": line " + line + ": contig " + chrom + " again after " + contig + " (not sorted: each contig's records must be together)");
                        pieces.put(chrom, new ArrayList<>());
                        contig = chrom;
                        last = -1;
                    } else if (pos0 < last)
                        throw new UsageException(in + ": line " + line + ": " + chrom + ":" + (pos0 + 1) + " after " + chrom + ":" + (last + 1) + " (not sorted)");
                    last = pos0;
                    ends.put(chrom, pos0 + 1);
                    List<Long> starts = pieces.get(chrom);
                    long start = step == 0 ? 0 : pos0 / step * step;
                    if (starts.isEmpty() || starts.getLast() != start) starts.add(start);
                }
            }
            List<String> out = new ArrayList<>();
            for (Map.Entry<String, List<Long>> e : pieces.entrySet())
                for (long s : e.getValue()) out.add(e.getKey() + ":" + s + "-" + (step == 0 ? ends.get(e.getKey()) : Math.min(ends.get(e.getKey()), s + step)));
            return out;
        }

        /** Plain or gzip/bgzip text, by its first bytes; BCF is not read here (score-variants reads VCF text). */
        private static InputStream open(Path in) throws IOException, UsageException {
            BufferedInputStream b = new BufferedInputStream(Files.newInputStream(in), 1 << 16);
            b.mark(2);
            int m0 = b.read(), m1 = b.read();
            b.reset();
            if (m0 != 0x1f || m1 != 0x8b) return b;
            InputStream z = new GZIPInputStream(b, 1 << 16);
            return z;
        }
    }
}
