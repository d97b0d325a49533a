package org.ssmtk.cli;

import htsjdk.samtools.QueryInterval;
import htsjdk.samtools.SAMException;
import htsjdk.samtools.SAMFileHeader;
import htsjdk.samtools.SAMFileWriter;
import htsjdk.samtools.SAMRecord;
import htsjdk.samtools.SAMSequenceRecord;
import htsjdk.samtools.SamInputResource;
import htsjdk.samtools.SamReader;
import htsjdk.samtools.SamReaderFactory;
import htsjdk.samtools.ValidationStringency;
import htsjdk.samtools.fastq.FastqReader;
import htsjdk.samtools.fastq.FastqRecord;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.classify.ClassLabels;
import org.ssmtk.core.classify.SequenceClassifier;
import org.ssmtk.core.eval.ClassificationMetrics;
import org.ssmtk.genomics.io.AlignmentFileCheck;
import org.ssmtk.genomics.io.LiteralHeader;
import org.ssmtk.genomics.io.LiteralTags;
import org.ssmtk.genomics.io.ReadFidelity;
import org.ssmtk.genomics.io.SamLineTap;
import org.ssmtk.genomics.io.BedIntervals;
import org.ssmtk.genomics.tokenize.DnaTokens;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import org.ssmtk.core.io.AtomicFiles;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;


/** {@code ssmtk dna classify-reads}: classifies the reads of a SAM/BAM/CRAM or FASTQ, to a TSV and optionally a tagged BAM. */
final class DnaClassifyReadsCommand implements Command {
    /** Records held at once: enough to fill several batches, few enough that memory stays flat on any file size. */
    private static final int CHUNK = 2048;

    public String name() { return "classify-reads"; }

    public String summary() { return "classify the reads of a SAM/BAM/CRAM or FASTQ with a trained DNA classifier, to a TSV (and a tagged BAM)"; }

    public String footer() {
        return "Reads are read through HTSJDK with validation stringency STRICT: the BAM written by --bam-out claims to\n"
                + "hold every input record unchanged, so a malformed record is an error rather than silently passed on.\n"
                + "--input - reads SAM from standard input. A CRAM needs --reference (the FASTA it was compressed against).\n"
                + "A read is classified unless it is unmapped (kept with --include-unmapped; --min-mapq does not apply to it,\n"
                + "its MAPQ means nothing), has MAPQ below --min-mapq (default " + MIN_MAPQ.defaultText() + "), is secondary or supplementary with\n"
                + "--primary-only, or stores no sequence (SEQ '*'). Its sequence is classified as stored in the file: for a\n"
                + "mapped reverse-strand read that is the reverse complement of what was sequenced, i.e. the reference's\n"
                + "forward strand, the strand the classifier's FASTA windows were drawn from; --rc-average makes the call\n"
                + "independent of strand. A read longer than --seq-len (default: " + SEQ_LEN.defaultText() + ") is cut into windows of\n"
                + "--seq-len bases (the last one ending at the read's end) and its probabilities are their mean.\n"
                + "The TSV has one row per classified read, in file order: read_name, flag, label, p_<class> per class.\n"
                + "--bam-out writes every input record in input order (header text and all fields as read, a @PG line added;\n"
                + "each record's tags in the order stored), classified ones with tags XL:Z:<label> and XP:f:<probability of\n"
                + "that label> appended. Outputs appear only when complete (temporary\n"
                + "files, then rename); on any error neither is left behind.\n"
                + "--regions BED reads only the records overlapping its intervals (each once, in file order) through the\n"
                + "input's index (.bai/.csi, .crai for CRAM; samtools index makes one): an input without an index, or a BED\n"
                + "contig missing from the input's header, is an error. --bam-out then holds those records.\n"
                + "FASTQ input (.fq, .fastq, optionally .gz) is read through HTSJDK's FastqReader, which refuses malformed\n"
                + "records: every read is classified (the alignment filters, --regions, --reference and --bam-out apply to\n"
                + "SAM/BAM/CRAM only and are refused), its name cut at the first white space as in SAM, its flag written as 4\n"
                + "(unmapped), as an unaligned BAM would hold it.\n"
                + "Scattered runs: --shard CONTIG:START-END reads, through the input's index, only the records whose POS lies in\n"
                + "[START, END) of CONTIG (0-based half-open), and --shard '*' the unmapped records without a position; over a\n"
                + "coordinate-sorted input, the shards of every contig in header order and then '*' hold each record once, in\n"
                + "file order, so their TSV rows under one header and their BAM records under one header are the unsplit run's\n"
                + "(the @PG line leaves --shard out of its command line, so every shard's header is the unsplit run's).\n\n"
                + "example: ssmtk dna classify-reads --model run1/model --input reads.bam --output calls.tsv --bam-out tagged.bam --primary-only";
    }

    static final Opt<Path> MODEL = Opt.input("model", "DIR", "a classifier from dna train-classifier").existingDir().required();
    static final Opt<Path> INPUT = Opt.input("input", "READS", "SAM, BAM, CRAM or FASTQ (.fq/.fastq[.gz]); - reads SAM from standard input")
            .required();
    static final Opt<Path> REFERENCE = Opt.input("reference", "FASTA", "the reference a CRAM was compressed against").existingFile();
    static final Opt<Path> OUTPUT = Opt.output("output", "TSV", "per-read class probabilities").required();
    static final Opt<Path> BAM_OUT = Opt.output("bam-out", "BAM", "also write every record, classified ones tagged XL/XP");
    static final Opt<Path> REGIONS = Opt.input("regions", "BED", "only records overlapping these intervals (needs an indexed input)");
    static final Opt<Integer> MIN_MAPQ = Opt.integer("min-mapq", "Q", "skip mapped reads with MAPQ below Q")
            .check(v -> v >= 0 && v <= 255, "must be in 0..255").byDefault(0);
    static final Opt<Boolean> PRIMARY_ONLY = Opt.flag("primary-only", "skip secondary and supplementary alignments");
    static final Opt<Boolean> INCLUDE_UNMAPPED = Opt.flag("include-unmapped", "classify unmapped reads too");
    static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "window length for long reads").defaultIs("the training length");
    static final Opt<Integer> BATCH = Opt.positiveInt("batch", "N", "windows per forward pass").byDefault(16);
    static final Opt<Boolean> RC_AVERAGE = Opt.flag("rc-average", "average the forward and reverse-complement probabilities");
    static final Opt<String> SHARD = Opt.string("shard", "CONTIG:START-END",
            "only the records whose POS lies in this range (0-based half-open), or * for the unplaced unmapped ones (a scattered job's part)");

    public List<Opt<?>> options() {
        return Opt.list(MODEL, INPUT, REFERENCE, OUTPUT, BAM_OUT, REGIONS, MIN_MAPQ, PRIMARY_ONLY, INCLUDE_UNMAPPED, SEQ_LEN, BATCH, RC_AVERAGE,
                SHARD, CommonOptions.INFERENCE);
    }

    public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
        Path dir = MODEL.get(cl);
        String input = INPUT.get(cl).toString();
        Path output = OUTPUT.get(cl);
        Path bamOut = BAM_OUT.get(cl);
        int batch = BATCH.get(cl);
        int minMapq = MIN_MAPQ.get(cl);
        Filter filter = new Filter(minMapq, PRIMARY_ONLY.get(cl), INCLUDE_UNMAPPED.get(cl));
        boolean rc = RC_AVERAGE.get(cl);
        MambaConfig config = MambaConfig.read(dir.resolve(MambaCheckpoint.CONFIG));
        if (!config.hasClassifier())
            throw new UsageException(dir + ": has no classification head (config.json has no ssmtk_classifier); train one with ssmtk dna train-classifier");
        DnaTokens tokens = DnaTokens.of(dir, config);
        ClassLabels labels = ClassLabels.read(dir, config.numLabels());
        int seqLen = SEQ_LEN.get(cl, labels.seqLen() > 0 ? labels.seqLen() : 1024);
        CommonOptions.checkShape(config, "--batch", batch, "--seq-len", seqLen, false);
        Path reference = REFERENCE.get(cl);
        SamInputResource resource;
        Path regionsBed = REGIONS.get(cl);
        if (regionsBed != null && input.equals("-")) throw new UsageException("--regions needs an indexed file, not standard input");
        String shardText = SHARD.get(cl);
        org.ssmtk.genomics.score.ScoreShard shard = null;
        if (shardText != null) {
            if (input.equals("-")) throw new UsageException("--shard needs an indexed file, not standard input");
            if (regionsBed != null) throw new UsageException("give --regions or --shard, not both");
            if (!shardText.equals("*"))
                try {
                    shard = org.ssmtk.genomics.score.ScoreShard.parse(shardText);
                } catch (IllegalArgumentException e) {
                    throw new UsageException("--shard: " + e.getMessage() + " (or * for the unplaced unmapped records)");
                }
        }
        // SAM text read for --bam-out passes through a tap: its header lines and each record's tag order as written
        SamLineTap tap = null;
        if (input.equals("-")) {
            resource = SamInputResource.of(bamOut == null ? System.in : (tap = new SamLineTap(System.in)));
        } else {
            Path in = Path.of(input);
            if (!Files.isRegularFile(in)) throw new UsageException("--input " + input + ": no such file");
            if (isFastq(in)) {
                if (Files.size(in) == 0) throw new UsageException("--input " + input + ": empty file (no FASTQ records)");
                return classifyFastq(cl, in, dir, tokens, labels, output, seqLen, batch, rc, out, err);
            }
            if (Files.size(in) == 0) throw new UsageException("--input " + input + ": empty file (not SAM, BAM or CRAM)");
            if (reference == null && isCram(in))
                throw new UsageException("--input " + input + " is CRAM; give --reference, the FASTA it was compressed against");
            // HTSJDK reads a BAM cut in its first block as "no records", one without its EOF block as complete
            AlignmentFileCheck.checkComplete(in);
            resource = bamOut != null && isSamText(in) ? SamInputResource.of(tap = new SamLineTap(Files.newInputStream(in))) : SamInputResource.of(in);
        }
        MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);

        boolean cramOut = bamOut != null && bamOut.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".cram");
        if (cramOut && reference == null)
            throw new UsageException("--bam-out " + bamOut + " is CRAM (by its name); give --reference, the FASTA to compress it against");
        if (reference != null) ReadFidelity.ensureFastaIndex(reference, err);
        SamReaderFactory factory = SamReaderFactory.makeDefault().validationStringency(ValidationStringency.STRICT);
        if (reference != null) factory = factory.referenceSequence(reference);
        AtomicFiles.Pending tsvOut = AtomicFiles.begin(output), bamPending = bamOut == null ? null : AtomicFiles.begin(bamOut);
        Path tsvTmp = tsvOut.temporary(), bamTmp = bamPending == null ? null : bamPending.temporary();
        boolean done = false;
        long records = 0, classified = 0, bases = 0;
        long[] iupac = {0};
        long t0 = System.nanoTime();
        try {
        try (Backend backend = CommonOptions.backend(cl, err);
             SamReader reader = factory.open(resource);
             BufferedWriter tsv = Files.newBufferedWriter(tsvTmp, StandardCharsets.UTF_8)) {
            MambaModel model = CommonOptions.loadForInference(cl, backend, checkpoint);
            SAMFileHeader header = reader.getFileHeader();
            List<String> names = labels.names();
            writeHeader(tsv, names);
            boolean cramIn = !input.equals("-") && isCram(Path.of(input));
            SAMFileHeader outHeader = bamTmp == null ? null : ReadFidelity.withProgramRecord(header, Main.version(), commandLine(cl));
            // The input's header text as written (VN, line and field order), plus our @PG line; records go
            // out in input order whatever the header's sort order says.
            String headerText = bamTmp == null ? null : LiteralHeader.withProgramLine(
                    tap != null ? tap.headerText() : LiteralHeader.read(Path.of(input)), outHeader.getProgramRecords().getLast());
            try (SAMFileWriter bam = bamTmp == null ? null : cramOut
                    ? LiteralHeader.cramWriter(bamTmp, outHeader, headerText, reference)
                    : LiteralHeader.bamWriter(bamTmp, outHeader, headerText);
                 ReadFidelity.NmMd nmMd = cramIn && bamTmp != null ? new ReadFidelity.NmMd(reference) : null) {
                List<SAMRecord> chunk = new ArrayList<>(CHUNK);
                List<short[]> tagOrders = new ArrayList<>(CHUNK);
                var it = shardText != null ? shardIterator(reader, header, input, shardText, shard)
                        : regionsBed == null ? reader.iterator() : reader.query(queryIntervals(regionsBed, header, input, reader.hasIndex()), false);
                while (true) {
                    boolean more = it.hasNext();
                    if (more) {
                        SAMRecord r = it.next();
                        // the query returns what overlaps the shard; a record belongs to the shard its POS lies in
                        if (shard != null && !shard.owns(r.getReferenceName(), r.getAlignmentStart() - 1L)) continue;
                        if (bam != null) { // the tag order as stored, before anything changes the record
                            short[] stored = LiteralTags.order(r, tap == null ? null : tap.nextRecordLine());
                            tagOrders.add(stored != null ? stored : LiteralTags.current(r));
                        }
                        chunk.add(r);
                        records++;
                    }
                    if (chunk.size() == CHUNK || (!more && !chunk.isEmpty())) {
                        List<SAMRecord> picked = new ArrayList<>();
                        List<byte[]> seqs = new ArrayList<>();
                        boolean[] kept = new boolean[chunk.size()];
                        for (int c = 0; c < chunk.size(); c++) {
                            SAMRecord r = chunk.get(c);
                            if (kept[c] = filter.keep(r)) {
                                picked.add(r);
                                seqs.add(readIds(input, r.getReadName(), r.getReadBases(), iupac));
                                bases += r.getReadLength();
                            }
                        }
                        double[][] p = classify(model, tokens, seqs, seqLen, batch, rc);
                        for (int i = 0; i < picked.size(); i++) {
                            SAMRecord r = picked.get(i);
                            int best = writeRow(tsv, names, r.getReadName(), r.getFlags(), p[i]);
                            r.setAttribute("XL", names.get(best));
                            r.setAttribute("XP", (float) p[i][best]);
                        }
                        classified += picked.size();
                        if (bam != null)
                            for (int c = 0; c < chunk.size(); c++) {
                                SAMRecord r = chunk.get(c);
                                if (!kept[c]) { // a skipped record keeps no call from an earlier run or model
                                    r.setAttribute("XL", null);
                                    r.setAttribute("XP", null);
                                }
                                if (nmMd != null) nmMd.restore(r);
                                LiteralTags.apply(r, tagOrders.get(c)); // stored order, added tags after it
                                bam.addAlignment(r);
                            }
                        chunk.clear();
                        tagOrders.clear();
                    }
                    if (!more) break;
                }
            }
            tsv.flush();
        } catch (SAMException e) {
            // HTSJDK reports truncation and format errors unchecked; as IOExceptions they become one line, exit 1.
            throw new IOException(input + ": " + rootMessage(e), e);
        }
            if (bamPending != null) bamPending.commit();
            tsvOut.commit();
            done = true;
        } finally {
            // Nothing partial survives a failure: the temporaries go, the targets were never touched.
            if (!done) {
                tsvOut.abort();
                if (bamPending != null) bamPending.abort();
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        // A header-only file is valid (a pipeline may have no reads for a sample): say so rather than fail.
        if (records == 0) err.println("ssmtk dna classify-reads: note: " + input + " holds no records" + (regionsBed == null ? "" : " in " + regionsBed));
        noteIupac(err, iupac[0], input);
        out.printf(Locale.ROOT, "%d records, %d classified (%,d bases) in %.2f s (%,.0f reads/s)%s -> %s%s%n", records, classified, bases, seconds,
                classified / Math.max(seconds, 1e-9), rc ? ", forward+RC averaged" : "", output, bamOut == null ? "" : " and " + bamOut);
        return 0;
    }

    /** Mean probabilities over each read's windows (DNA ids as bytes), forward and reverse complement averaged with rc. */
    private static double[][] classify(MambaModel model, DnaTokens tokens, List<byte[]> reads, int seqLen, int batch, boolean rc) {
        return SequenceClassifier.meanOverWindows(model, reads.stream().map(tokens::tokens).toList(), seqLen, batch,
                rc ? tokens.reverseComplement() : null);
    }

    /** A read's bases as ids; a letter the vocabulary lacks is the input's problem, named with the file and the read. */
    static boolean isFastq(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        if (n.endsWith(".gz")) n = n.substring(0, n.length() - 3);
        return n.endsWith(".fq") || n.endsWith(".fastq");
    }

    /** FASTQ reads, streamed in chunks like records: every read classified, rows in file order. */
    private static int classifyFastq(CommandLine cl, Path in, Path dir, DnaTokens tokens, ClassLabels labels, Path output, int seqLen, int batch,
                                     boolean rc, PrintStream out, PrintStream err) throws Exception {
        for (Opt<?> o : List.of(BAM_OUT, REGIONS, SHARD, REFERENCE, MIN_MAPQ, PRIMARY_ONLY, INCLUDE_UNMAPPED))
            if (o.given(cl))
                throw new UsageException("--" + o.name() + " applies to SAM/BAM/CRAM input; " + in + " is FASTQ (every read is classified)");
        MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);
        AtomicFiles.Pending tsvOut = AtomicFiles.begin(output);
        Path tsvTmp = tsvOut.temporary();
        boolean done = false;
        long reads = 0, bases = 0;
        long[] iupac = {0};
        long t0 = System.nanoTime();
        try {
            try (Backend backend = CommonOptions.backend(cl, err);
                 FastqReader reader = new FastqReader(in.toFile());
                 BufferedWriter tsv = Files.newBufferedWriter(tsvTmp, StandardCharsets.UTF_8)) {
                MambaModel model = CommonOptions.loadForInference(cl, backend, checkpoint);
                List<String> names = labels.names();
                writeHeader(tsv, names);
                List<String> ids = new ArrayList<>(CHUNK);
                List<byte[]> seqs = new ArrayList<>(CHUNK);
                var it = reader.iterator();
                while (true) {
                    boolean more = it.hasNext();
                    if (more) {
                        FastqRecord r = it.next();
                        String id = r.getReadName();
                        int ws = id.indexOf(' '), tab = id.indexOf('\t');
                        int cut = ws < 0 ? tab : tab < 0 ? ws : Math.min(ws, tab);
                        ids.add(cut < 0 ? id : id.substring(0, cut));
                        seqs.add(readIds(in.toString(), id, r.getReadBases(), iupac));
                        bases += r.length();
                    }
                    if (ids.size() == CHUNK || (!more && !ids.isEmpty())) {
                        double[][] p = classify(model, tokens, seqs, seqLen, batch, rc);
                        for (int i = 0; i < ids.size(); i++) writeRow(tsv, names, ids.get(i), 4, p[i]);
                        reads += ids.size();
                        ids.clear();
                        seqs.clear();
                    }
                    if (!more) break;
                }
                tsv.flush();
            } catch (SAMException e) { // RuntimeIOException (a truncated gzip) is one too
                throw new IOException(in + ": " + rootMessage(e), e);
            }
            tsvOut.commit();
            done = true;
        } finally {
            if (!done) tsvOut.abort();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        noteIupac(err, iupac[0], in.toString());
        out.printf(Locale.ROOT, "%d FASTQ reads classified (%,d bases) in %.2f s (%,.0f reads/s)%s -> %s%n", reads, bases, seconds,
                reads / Math.max(seconds, 1e-9), rc ? ", forward+RC averaged" : "", output);
        return 0;
    }

    /** The command as given, for the @PG line's CL (options in declaration order, as parsed). */
    private static String commandLine(CommandLine cl) {
        StringBuilder b = new StringBuilder("ssmtk dna classify-reads");
        for (org.apache.commons.cli.Option o : cl.getOptions()) {
            if (o.getLongOpt().equals(SHARD.name())) continue; // a shard's header is the whole run's: the gather keeps one
            b.append(" --").append(o.getLongOpt());
            if (o.getValues() != null) for (String v : o.getValues()) b.append(' ').append(v);
        }
        return b.toString();
    }

    /** A read's ids; IUPAC codes (and SAM's '=' '.') are read as N and counted, as the FASTA commands do. */
    static byte[] readIds(String file, String read, byte[] bases, long[] iupac) throws UsageException {
        try {
            return DnaVocabulary.encodeRead(bases, iupac);
        } catch (IllegalArgumentException e) {
            // encodeRead's only failure: a byte that is no SAM/FASTQ base letter
            throw new UsageException(file + ": read " + read + ": " + e.getMessage());
        }
    }

    private static void noteIupac(PrintStream err, long count, String file) {
        if (count > 0) err.printf(Locale.ROOT, "ssmtk dna classify-reads: note: %,d bases of %s were IUPAC codes (or '=' '.'), read as N%n", count, file);
    }

    private static void writeHeader(BufferedWriter tsv, List<String> names) throws IOException {
        StringBuilder head = new StringBuilder("read_name\tflag\tlabel");
        for (String n : names) head.append("\tp_").append(n);
        tsv.write(head.append('\n').toString());
    }

    /** One TSV row; returns the most probable class. */
    private static int writeRow(BufferedWriter tsv, List<String> names, String read, int flag, double[] p) throws IOException {
        int best = ClassificationMetrics.argmax(p);
        StringBuilder line = new StringBuilder(read).append('\t').append(flag).append('\t').append(names.get(best));
        for (double v : p) line.append('\t').append(String.format(Locale.ROOT, "%.6g", v));
        tsv.write(line.append('\n').toString());
        return best;
    }

    /** The records of a --shard, through the input's index: those overlapping CONTIG:START-END, or the unplaced unmapped ones. */
    private static htsjdk.samtools.util.CloseableIterator<SAMRecord> shardIterator(SamReader reader, SAMFileHeader header, String input, String text,
                                                                                    org.ssmtk.genomics.score.ScoreShard shard) throws IOException, UsageException {
        if (!reader.hasIndex())
            throw new UsageException("--input " + input + " has no index (.bai/.csi, or .crai for CRAM); --shard reads through one: samtools index " + input);
        AlignmentFileCheck.checkIndex(Path.of(input), header);
        if (header.getSortOrder() != SAMFileHeader.SortOrder.coordinate)
            throw new UsageException("--input " + input + " is not coordinate-sorted (@HD SO:" + header.getSortOrder() + "); shards follow positions");
        if (shard == null) return reader.queryUnmapped();
        int ref = header.getSequenceIndex(shard.contig());
        if (ref < 0) throw new UsageException("--shard " + text + ": " + input + "'s header has no @SQ '" + shard.contig() + "'");
        // 1-based, inclusive; from START (not START + 1) so a record at START + 1 whose alignment ends before it still overlaps
        int from = (int) Math.max(1, Math.min(Integer.MAX_VALUE, shard.start())), to = (int) Math.min(Integer.MAX_VALUE, shard.end());
        return reader.query(new QueryInterval[]{new QueryInterval(ref, from, to)}, false);
    }

    /** The BED's intervals as HTSJDK queries (sorted, merged), checked against the input's header. */
    private static QueryInterval[] queryIntervals(Path bed, SAMFileHeader header, String input, boolean indexed) throws IOException, UsageException {
        if (!indexed)
            throw new UsageException("--input " + input + " has no index (.bai/.csi, or .crai for CRAM); --regions needs one: samtools index " + input);
        AlignmentFileCheck.checkIndex(Path.of(input), header); // a stale index answers with another file's records
        Map<String, Long> lengths = new LinkedHashMap<>();
        for (SAMSequenceRecord r : header.getSequenceDictionary().getSequences()) lengths.put(r.getSequenceName(), (long) r.getSequenceLength());
        List<QueryInterval> q = new ArrayList<>();
        for (BedIntervals.Interval iv : BedIntervals.read(bed, lengths, Path.of(input)))
            q.add(new QueryInterval(header.getSequenceIndex(iv.contig()), (int) iv.start() + 1, (int) iv.end())); // 1-based, inclusive
        return QueryInterval.optimizeIntervals(q.toArray(QueryInterval[]::new));
    }

    record Filter(int minMapq, boolean primaryOnly, boolean includeUnmapped) {
        boolean keep(SAMRecord r) {
            if (r.getReadLength() == 0) return false;
            if (r.getReadUnmappedFlag()) return includeUnmapped;
            if (primaryOnly && (r.isSecondaryOrSupplementary())) return false;
            return r.getMappingQuality() >= minMapq;
        }
    }

    /** Neither BGZF/gzip (BAM) nor CRAM by its first bytes: SAM text. */
    private static boolean isSamText(Path in) throws IOException {
        try (InputStream s = Files.newInputStream(in)) {
            byte[] magic = s.readNBytes(4);
            boolean gzip = magic.length >= 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b;
            return !gzip && !new String(magic, StandardCharsets.ISO_8859_1).equals("CRAM");
        }
    }

    private static boolean isCram(Path in) throws IOException {
        try (InputStream s = Files.newInputStream(in)) {
            byte[] magic = s.readNBytes(4);
            return new String(magic, StandardCharsets.ISO_8859_1).equals("CRAM");
        }
    }

    private static String rootMessage(Throwable e) {
        String m = e.getMessage();
        for (Throwable c = e.getCause(); c != null; c = c.getCause()) if (c.getMessage() != null) m = m == null ? c.getMessage() : m;
        return m == null ? e.toString() : m;
    }

}
