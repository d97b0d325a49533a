package org.ssmtk.cli;

import htsjdk.samtools.SAMException;
import htsjdk.samtools.SAMFileHeader;
import htsjdk.samtools.SAMFileWriter;
import htsjdk.samtools.SAMRecord;
import htsjdk.samtools.SamReader;
import htsjdk.samtools.SamReaderFactory;
import htsjdk.samtools.ValidationStringency;
import htsjdk.tribble.TribbleException;
import htsjdk.variant.variantcontext.writer.VariantContextWriter;
import htsjdk.variant.vcf.VCFIterator;
import htsjdk.variant.vcf.VCFIteratorBuilder;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.genomics.io.AlignmentFileCheck;
import org.ssmtk.genomics.io.LiteralHeader;
import org.ssmtk.genomics.variant.VcfVariantScorer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * {@code ssmtk gather tsv|bedgraph|bam|vcf}: the parts a scattered run's shards wrote, joined into the
 * file one unsplit run writes. Each part carries the whole run's header (the shards' commands write it
 * whole, and keep their --shard out of it), so the gather keeps the first part's header once, checks
 * that every other part has the same one (a part of another run is an error, not a silent mix), and
 * appends the parts' records in the order the parts are given, which is the shard order.
 */
final class GatherCommands {
    private GatherCommands() {}

    static CommandGroup group() {
        return new CommandGroup("gather", "join the parts of a scattered run (--shard) into the file one unsplit run writes",
                List.of(new Text("tsv", "TSV", "column names"), new Text("bedgraph", "bedGraph", "track line"), new Bam(), new Vcf()));
    }

    static final Opt<Path> PART = Opt.input("part", "FILE", "a shard's output, in shard order (repeat: one per shard)").existingFile()
            .required().repeatable();

    /** Tables with one header line: the first part whole, then every other part without its first line. */
    static final class Text implements Command {
        private final String name, what, header;
        private final Opt<Path> output;

        Text(String name, String what, String header) {
            this.name = name;
            this.what = what;
            this.header = header;
            this.output = Opt.output("output", "OUT", "the gathered " + what).required();
        }

        public String name() { return name; }

        public String summary() { return "join " + what + " parts under one " + header; }

        public String footer() {
            return "Every part must start with the same first line (the " + header + "); the output is that line once, then every\n"
                    + "part's other lines, byte for byte, in the order the parts are given (scattered dna score, dna classify,\n"
                    + "dna classify-reads and audio score write parts that join into their unsplit output this way).\n\n"
                    + "example: ssmtk gather " + name + " --output all." + name + " --part shard1." + name + " --part shard2." + name;
        }

        public List<Opt<?>> options() { return List.of(output, PART); }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            List<Path> parts = PART.all(cl);
            Path target = output.get(cl);
            String first = null;
            long lines = 0;
            for (Path p : parts) { // every header checked before anything is written
                String h = firstLine(p);
                if (first == null) first = h;
                else if (!h.equals(first))
                    throw new UsageException("--part " + p + ": its " + header + " differs from --part " + parts.getFirst() + "'s (a part of another run?)");
            }
            byte[] head = (first + "\n").getBytes(StandardCharsets.UTF_8);
            long[] count = {0};
            AtomicFiles.write(target, o -> {
                o.write(head);
                for (Path p : parts) count[0] += copyAfterFirstLine(p, o);
            });
            lines = count[0];
            out.printf(Locale.ROOT, "%d parts, %,d lines under one %s -> %s%n", parts.size(), lines, header, target);
            return 0;
        }

        /** The first line, without its newline; a part with none (empty, or no newline at all) is not a shard's output. */
        private String firstLine(Path p) throws IOException, UsageException {
            try (InputStream in = Files.newInputStream(p)) {
                java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
                for (int c; (c = in.read()) != -1; ) {
                    if (c == '\n') return b.toString(StandardCharsets.UTF_8);
                    b.write(c);
                }
            }
            throw new UsageException("--part " + p + ": no " + header + " (not a complete " + what + " with a header line)");
        }

        /** Copies what follows the first line; the part must end with a newline, or its last line would run into the next part's first. */
        private long copyAfterFirstLine(Path p, OutputStream o) throws IOException {
            byte[] all = Files.readAllBytes(p);
            int from = 0;
            while (all[from] != '\n') from++;
            from++;
            if (from < all.length && all[all.length - 1] != '\n')
                throw new IOException(p + ": the last line has no newline (a cut file?)");
            long lines = 0;
            for (int i = from; i < all.length; i++) if (all[i] == '\n') lines++;
            o.write(all, from, all.length - from);
            return lines;
        }
    }

    /** BAM parts: one header text (the first part's, which every part must share), the records in part order. */
    static final class Bam implements Command {
        static final Opt<Path> OUTPUT = Opt.output("output", "OUT.bam", "the gathered BAM").required()
                .check(p -> p.getFileName() != null && p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".bam"), "must end in .bam");

        public String name() { return "bam"; }

        public String summary() { return "join BAM parts under one header (its text and @PG lines kept as written), records in part order"; }

        public String footer() {
            return "Every part must have the same header text (the scattered dna classify-reads --bam-out parts do: their @PG\n"
                    + "line leaves --shard out); the output has that text once, as written (line and field order, every @PG\n"
                    + "line), and every part's records in the order the parts are given, each as read (tags in stored order).\n"
                    + "Records are read with validation stringency STRICT. No index is written (samtools index makes one).\n\n"
                    + "example: ssmtk gather bam --output tagged.bam --part shard1.bam --part shard2.bam";
        }

        public List<Opt<?>> options() { return List.of(OUTPUT, PART); }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            List<Path> parts = PART.all(cl);
            Path target = OUTPUT.get(cl);
            String text = null;
            for (Path p : parts) {
                AlignmentFileCheck.checkComplete(p);
                String t = LiteralHeader.read(p);
                if (text == null) text = t;
                else if (!t.equals(text))
                    throw new UsageException("--part " + p + ": its header differs from --part " + parts.getFirst() + "'s (a part of another run?)");
            }
            SamReaderFactory factory = SamReaderFactory.makeDefault().validationStringency(ValidationStringency.STRICT);
            SAMFileHeader header;
            try (SamReader r = factory.open(parts.getFirst())) {
                header = r.getFileHeader();
            }
            String headerText = text;
            long[] records = {0};
            AtomicFiles.Pending pending = AtomicFiles.begin(target);
            boolean done = false;
            try {
                try (SAMFileWriter w = LiteralHeader.bamWriter(pending.temporary(), header, headerText)) {
                    for (Path p : parts)
                        try (SamReader r = factory.open(p)) {
                            for (SAMRecord rec : r) {
                                try {
                                    w.addAlignment(rec);
                                } catch (IllegalArgumentException outOfOrder) { // HTSJDK's check of a sorted header's order
                                    throw new UsageException("--part " + p + ": read " + rec.getReadName() + " at " + rec.getReferenceName() + ":"
                                            + rec.getAlignmentStart() + " comes before the records gathered so far, in the header's "
                                            + header.getSortOrder() + " order (give the parts in the order they were planned)");
                                }
                                records[0]++;
                            }
                        } catch (SAMException e) {
                            throw new IOException(p + ": " + e.getMessage(), e);
                        }
                }
                pending.commit();
                done = true;
            } finally {
                if (!done) pending.abort();
            }
            out.printf(Locale.ROOT, "%d parts, %,d records under one header -> %s%n", parts.size(), records[0], target);
            return 0;
        }
    }

    /** bgzipped VCF parts (dna score-variants): one header, the records in part order, the tabix index rebuilt. */
    static final class Vcf implements Command {
        static final Opt<Path> OUTPUT = Opt.output("output", "OUT.vcf.gz", "the gathered VCF, bgzipped, with OUT.vcf.gz.tbi").required()
                .check(p -> p.getFileName() != null && (p.getFileName().toString().endsWith(".vcf.gz") || p.getFileName().toString().endsWith(".vcf.bgz")),
                        "must end in .vcf.gz (the output is bgzipped and tabix-indexed)");

        public String name() { return "vcf"; }

        public String summary() { return "join VCF parts under one header, bgzipped, with the tabix index rebuilt"; }

        public String footer() {
            return "Every part must have the same header: parts scored by different models (##" + VcfVariantScorer.HEADER_KEY + " names the\n"
                    + "model by its folder's name and content digest, not its path) are refused; the output has that header, then every part's\n"
                    + "records in the order the parts are given, written as dna score-variants writes them (bgzip, tabix index\n"
                    + "OUT.tbi built on the fly), so the gathered parts of a scattered score-variants run equal the unsplit\n"
                    + "run's file byte for byte. OUT and OUT.tbi appear together, when complete.\n\n"
                    + "example: ssmtk gather vcf --output scored.vcf.gz --part shard1.vcf.gz --part shard2.vcf.gz";
        }

        public List<Opt<?>> options() { return List.of(OUTPUT, PART); }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            List<Path> parts = PART.all(cl);
            Path target = OUTPUT.get(cl);
            List<String> first = null;
            for (Path p : parts) {
                List<String> h = header(p);
                if (first == null) first = h;
                else if (!h.equals(first)) {
                    String a = model(first), b = model(h);
                    if (!a.equals(b))
                        throw new UsageException("--part " + p + " was scored by " + b + ", --part " + parts.getFirst() + " by " + a
                                + ": the parts of one run share one model");
                    throw new UsageException("--part " + p + ": its header differs from --part " + parts.getFirst() + "'s (a part of another run?)");
                }
            }
            long[] records = {0};
            AtomicFiles.writeWithCompanions(target, List.of(".tbi"), tmp -> {
                try (VariantContextWriter w = VcfVariantScorer.writer(tmp)) {
                    boolean head = true;
                    for (Path p : parts)
                        // read by content, not by name: a pipeline stages parts under names of its own
                        try (VCFIterator r = new VCFIteratorBuilder().open(p)) {
                            if (head) w.writeHeader(r.getHeader());
                            head = false;
                            while (r.hasNext()) {
                                w.add(r.next());
                                records[0]++;
                            }
                        } catch (TribbleException e) {
                            throw new IOException(p + ": cannot read as VCF (" + e.getMessage() + ")", e);
                        }
                }
            });
            out.printf(Locale.ROOT, "%d parts, %,d records under one header -> %s (and .tbi)%n", parts.size(), records[0], target);
            return 0;
        }

        /** The header lines, as written. */
        private static List<String> header(Path p) throws IOException, UsageException {
            List<String> lines = new ArrayList<>();
            try (InputStream raw = Files.newInputStream(p);
                 BufferedReader in = new BufferedReader(new InputStreamReader(gunzip(raw, p), StandardCharsets.UTF_8))) {
                for (String l; (l = in.readLine()) != null && l.startsWith("#"); ) lines.add(l);
            }
            if (lines.isEmpty() || !lines.getLast().startsWith("#CHROM"))
                throw new UsageException("--part " + p + ": no VCF header (#CHROM line)");
            return lines;
        }

        /** The model a part names in ##ssmtk_score_variants (folder name and digest), for the error that parts disagree on it. */
        private static String model(List<String> header) {
            for (String l : header)
                if (l.startsWith("##" + VcfVariantScorer.HEADER_KEY + "=")) {
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("model=([^;]*)(?:;model_sha256=([0-9a-f]*))?").matcher(l);
                    if (m.find()) return "model '" + m.group(1) + "'" + (m.group(2) == null ? "" : " (sha256 " + m.group(2).substring(0, Math.min(12, m.group(2).length())) + "...)");
                }
            return "no model (no ##" + VcfVariantScorer.HEADER_KEY + " line)";
        }

        private static InputStream gunzip(InputStream raw, Path p) throws IOException, UsageException {
            java.io.BufferedInputStream b = new java.io.BufferedInputStream(raw);
            b.mark(2);
            int m0 = b.read(), m1 = b.read();
            b.reset();
            if (m0 != 0x1f || m1 != 0x8b) throw new UsageException("--part " + p + ": not bgzipped (dna score-variants writes .vcf.gz)");
            return new GZIPInputStream(b, 1 << 16);
        }
    }
}
