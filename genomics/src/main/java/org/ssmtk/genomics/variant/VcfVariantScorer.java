package org.ssmtk.genomics.variant;

import htsjdk.samtools.util.CloseableIterator;
import htsjdk.tribble.TribbleException;
import htsjdk.variant.variantcontext.Allele;
import htsjdk.variant.variantcontext.VariantContext;
import htsjdk.variant.variantcontext.VariantContextBuilder;
import htsjdk.variant.variantcontext.writer.Options;
import htsjdk.variant.variantcontext.writer.VariantContextWriter;
import htsjdk.variant.variantcontext.writer.VariantContextWriterBuilder;
import htsjdk.variant.vcf.VCFFileReader;
import htsjdk.variant.vcf.VCFHeader;
import htsjdk.variant.vcf.VCFHeaderLine;
import htsjdk.variant.vcf.VCFHeaderLineCount;
import htsjdk.variant.vcf.VCFHeaderLineType;
import htsjdk.variant.vcf.VCFInfoHeaderLine;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Scores every variant of a VCF with a DNA model and writes the VCF back with INFO/SSMTK_LLR, per
 * ALT: under a causal model ln P(ALT window) - ln P(REF window) ({@link VariantWindow},
 * {@link CausalWindowScorer}), under a masked one (Caduceus) the masked marginal at the variant in
 * the REF window ({@link MaskedMarginalScorer}; substitutions only), either optionally averaged with
 * the same score on the reverse-complement strand.
 * <p>
 * Streams: records are read, scored and written a block at a time (a few batches of windows), so
 * memory does not grow with the number of records. Records come out in input order, each as HTSJDK
 * read it with SSMTK_LLR set (HTSJDK's encoder writes header lines and INFO keys sorted and QUAL in
 * its own number format; values, samples and every other field are kept). The output is bgzipped with a tabix index
 * built on the fly, both written through {@link AtomicFiles#writeWithCompanions}, which is why the
 * input must be sorted (checked as it is read, before tabix would fail on it).
 * <p>
 * Missing values ('.'): symbolic ALTs ({@code <DEL>}, {@code *}, breakends), a REF that reaches past
 * the window (REF longer than about half the window), under a masked model an ALT of another length
 * than REF (an indel), and, with {@link CheckRef#WARN}, a REF that contradicts the FASTA. Every
 * missing value says why in INFO/SSMTK_MISSING (Number=A: the reason, or '.' for an ALT that has a
 * score; the key is written only on records with a missing value). A contig missing from the FASTA
 * is an error whatever the mode.
 */
public final class VcfVariantScorer {
    public static final String INFO_KEY = "SSMTK_LLR";
    /** Why an ALT has no score: one of the reasons below, per ALT. */
    public static final String MISSING_KEY = "SSMTK_MISSING";
    static final String SYMBOLIC = "symbolic", REF_PAST_WINDOW = "ref_past_window", REF_MISMATCH = "ref_mismatch", INDEL = "indel",
            NOT_FINITE = "not_finite";
    public static final String HEADER_KEY = "ssmtk_score_variants";
    /** Warnings printed one by one before only counting. */
    static final int WARNINGS_SHOWN = 10;
    /** Windows gathered before they are scored: several forwards' worth, so the last one of a block is rarely small. */
    private static final int BLOCK_BATCHES = 4;

    /**
     * The run's settings. {@code modelName} and {@code modelDigest} ({@link #modelDigest(Path)}) name the
     * model in the header line: its folder's name and its content, not its path, so every task of a
     * pipeline (each sees the model staged under its own work folder) writes the same header, and
     * parts scored by different models differ there.
     */
    public record Settings(int window, boolean rcAverage, CheckRef checkRef, int batch, String modelName, String modelDigest) {
        public Settings {
            if (window < 2) throw new IllegalArgumentException("--window must be at least 2, got " + window);
            if (batch < 1) throw new IllegalArgumentException("--batch must be >= 1, got " + batch);
            if (modelName.contains("\n") || modelName.contains(";")) throw new IllegalArgumentException("model name may not hold ';' or a newline");
            if (!modelDigest.matches("[0-9a-f]{64}")) throw new IllegalArgumentException("model digest must be 64 hex digits, got '" + modelDigest + "'");
        }
    }

    /**
     * SHA-256 over the files that make a model's scores, in this order: config.json, then its weights:
     * model.safetensors, or for sharded weights model.safetensors.index.json and its model-*.safetensors
     * shards, by name (other files in the folder, a README or reference outputs, are not the model).
     * For the common single file it is {@code cat config.json model.safetensors | sha256sum}.
     */
    public static String modelDigest(Path dir) throws IOException {
        java.security.MessageDigest sha;
        try {
            sha = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
        List<Path> files = new ArrayList<>(List.of(dir.resolve("config.json")));
        if (java.nio.file.Files.isRegularFile(dir.resolve("model.safetensors"))) files.add(dir.resolve("model.safetensors"));
        else
            try (java.util.stream.Stream<Path> s = java.nio.file.Files.list(dir)) {
                s.filter(f -> f.getFileName().toString().matches("model\\.safetensors\\.index\\.json|model-.*\\.safetensors")).sorted().forEach(files::add);
            }
        byte[] buf = new byte[1 << 16];
        for (Path f : files)
            try (java.io.InputStream in = java.nio.file.Files.newInputStream(f)) {
                for (int n; (n = in.read(buf)) > 0; ) sha.update(buf, 0, n);
            }
        return java.util.HexFormat.of().formatHex(sha.digest());
    }

    /**
     * What a run did. {@code values}: ALT values written, {@code scored} of which have a number;
     * {@code read}: records parsed from the input (a shard of an indexed VCF reads only its region);
     * {@code indexed}: whether the shard's records came through the .tbi.
     */
    public record Summary(long records, long written, long values, long scored, long symbolic, long refMismatches,
                          long excluded, long refPastWindow, long indels, long windows, long bases, long read, boolean indexed) {}

    private final CausalWindowScorer scorer;
    private final MaskedMarginalScorer masked;
    private final int[] maskedIds;
    private final Settings settings;

    /** Scores with a causal (next-base) model. */
    public VcfVariantScorer(CausalWindowScorer scorer, Settings settings) {
        this.scorer = scorer;
        this.masked = null;
        this.maskedIds = null;
        this.settings = settings;
    }

    /**
     * Scores with a masked model by masked marginals. {@code ids} translates {@link DnaVocabulary}
     * ids to the model's (Caduceus' tokenizer), one entry per DNA id.
     */
    public VcfVariantScorer(MaskedMarginalScorer masked, int[] ids, Settings settings) {
        if (ids.length != DnaVocabulary.SIZE) throw new IllegalArgumentException(ids.length + " ids for a DNA vocabulary of " + DnaVocabulary.SIZE);
        this.scorer = null;
        this.masked = masked;
        this.maskedIds = ids.clone();
        this.settings = settings;
    }

    /**
     * One record on its way through: causal windows' places in the block (or -1), or the masked
     * query's (or -1), and per ALT why it has no score (null: it has one).
     */
    private record Pending(VariantContext vc, int refWindow, int[] altWindows, int query, String[] missing) {
        static Pending unscored(VariantContext vc, String[] missing) {
            int[] none = new int[missing.length];
            Arrays.fill(none, -1);
            return new Pending(vc, -1, none, -1, missing);
        }
    }

    /** Reads {@code vcf} against {@code fasta}, writes {@code out} (.vcf.gz) and {@code out}.tbi together. */
    public Summary score(Path vcf, FastaReference fasta, Path out, Consumer<String> warn) throws IOException {
        return score(vcf, fasta, out, null, warn);
    }

    /**
     * As {@link #score(Path, FastaReference, Path, Consumer)}, for one shard of a scattered run: only the
     * records whose POS lies in {@code shard} (0-based; null: all) are scored and written, under the whole
     * run's header. Every record is scored from its own window alone, so the shards' records in shard
     * order are the unsplit run's.
     */
    public Summary score(Path vcf, FastaReference fasta, Path out, org.ssmtk.genomics.score.ScoreShard shard, Consumer<String> warn) throws IOException {
        Map<String, Long> lengths = new HashMap<>();
        List<String> names = new ArrayList<>();
        for (FastaReference.Contig c : fasta.contigs()) {
            lengths.put(c.name(), c.length());
            names.add(c.name());
        }
        Run run = new Run(vcf, fasta, lengths, names, warn);
        boolean[] indexed = {false};
        long[] read = {0};
        AtomicFiles.writeWithCompanions(out, List.of(".tbi"), tmp -> {
            try (VCFFileReader reader = open(vcf); CloseableIterator<VariantContext> it = records(reader, vcf, shard, indexed, warn);
                 VariantContextWriter writer = writer(tmp)) {
                writer.writeHeader(header(reader.getFileHeader()));
                run.writer = writer;
                while (true) {
                    VariantContext vc;
                    try {
                        if (!it.hasNext()) break;
                        vc = it.next();
                        read[0]++;
                    } catch (TribbleException | IllegalArgumentException | IllegalStateException e) {
                        throw new VariantInputException(vcf, "malformed VCF (" + oneLine(e) + ")", e);
                    }
                    // POS 0 (a telomere's) belongs with POS 1
                    if (shard != null && !shard.owns(vc.getContig(), Math.max(0, vc.getStart() - 1L))) continue;
                    run.add(vc);
                }
                run.flush();
            } catch (TribbleException e) {
                throw new VariantInputException(vcf, "cannot read as VCF (" + oneLine(e) + ")", e);
            } catch (htsjdk.samtools.util.RuntimeIOException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(oneLine(e), e);
            }
        });
        if (run.mismatches > WARNINGS_SHOWN)
            warn.accept(run.mismatches + " records in all had a REF that contradicts the FASTA");
        if (run.indels > 0)
            warn.accept(run.indels + " ALT alleles are indels, which masked marginals do not score: missing values ("
                    + MISSING_KEY + "=" + INDEL + ")");
        if (run.pastWindow > 0)
            warn.accept(run.pastWindow + " records have a REF longer than fits in the window after its start (about half of --window "
                    + settings.window() + "): missing values; a larger --window scores them");
        return new Summary(run.records, run.written, run.values, run.scored, run.symbolic, run.mismatches, run.excluded, run.pastWindow,
                run.indels, run.windowCount, masked != null ? masked.bases() : scorer.bases(), read[0], indexed[0]);
    }

    /**
     * The records a run reads: every one, or for a shard of a bgzipped VCF with a tabix index (.tbi)
     * beside it those overlapping the shard's region, through the index, so a shard costs its region
     * rather than the whole file. Both pass the same records the shard owns (by POS, filtered by the
     * caller) in file order, so the part's bytes do not depend on the path taken. A plain VCF, or a
     * .csi alone (HTSJDK reads tabix indexes of VCFs only), or an index older than its VCF (stale, as
     * bcftools warns), streams.
     */
    private static CloseableIterator<VariantContext> records(VCFFileReader reader, Path vcf, org.ssmtk.genomics.score.ScoreShard shard,
                                                             boolean[] indexed, Consumer<String> warn) throws IOException {
        Path tbi = Path.of(vcf + ".tbi");
        if (shard == null || !java.nio.file.Files.isRegularFile(tbi) || !reader.isQueryable()) return reader.iterator();
        if (java.nio.file.Files.getLastModifiedTime(tbi).compareTo(java.nio.file.Files.getLastModifiedTime(vcf)) < 0) {
            warn.accept(tbi + " is older than " + vcf + " (stale?): reading every record instead of querying the index");
            return reader.iterator();
        }
        indexed[0] = true;
        // 1-based closed [START+1, END] holds every record whose POS-1 lies in [START, END), plus records
        // starting before it that reach into it, which the shard does not own; tabix positions are ints
        return reader.query(shard.contig(), (int) Math.min(Integer.MAX_VALUE, shard.start() + 1), (int) Math.min(Integer.MAX_VALUE, shard.end()));
    }

    private static VCFFileReader open(Path vcf) throws VariantInputException {
        try {
            return new VCFFileReader(vcf, false);
        } catch (TribbleException | IllegalArgumentException | htsjdk.samtools.util.RuntimeIOException e) {
            throw new VariantInputException(vcf, "cannot read as VCF (" + oneLine(e) + ")", e);
        }
    }

    /** The writer of the scored VCF (bgzip, tabix index on the fly); gathering shards' parts through it gives the unsplit run's bytes. */
    public static VariantContextWriter writer(Path tmp) {
        // Fields absent from the header are written as they were read (an input's, not ours to judge);
        // trailing missing FORMAT values are kept, so sample columns stay as they came.
        return new VariantContextWriterBuilder().setOutputPath(tmp)
                .setOutputFileType(VariantContextWriterBuilder.OutputType.BLOCK_COMPRESSED_VCF)
                .setOptions(EnumSet.of(Options.INDEX_ON_THE_FLY, Options.ALLOW_MISSING_FIELDS_IN_HEADER, Options.WRITE_FULL_FORMAT_FIELD))
                .build();
    }

    /** The input's header with our INFO line and provenance line (replacing those of an earlier run). */
    VCFHeader header(VCFHeader in) {
        Set<VCFHeaderLine> lines = new LinkedHashSet<>();
        for (VCFHeaderLine l : in.getMetaDataInInputOrder()) {
            if (l instanceof VCFInfoHeaderLine info && (info.getID().equals(INFO_KEY) || info.getID().equals(MISSING_KEY))) continue;
            if (l.getKey().equals(HEADER_KEY)) continue;
            lines.add(l);
        }
        lines.add(new VCFInfoHeaderLine(INFO_KEY, VCFHeaderLineCount.A, VCFHeaderLineType.Float, masked == null
                ? "ln P(ALT window) - ln P(REF window) under a causal DNA model (nats; model and window in ##" + HEADER_KEY
                        + "); missing values say why in " + MISSING_KEY
                : "masked marginal under a masked DNA model: sum over REF's bases of ln p(ALT base) - ln p(REF base) there, REF masked"
                        + " in the REF window (nats; model and window in ##" + HEADER_KEY + "); missing values say why in " + MISSING_KEY));
        lines.add(new VCFInfoHeaderLine(MISSING_KEY, VCFHeaderLineCount.A, VCFHeaderLineType.String,
                "why SSMTK_LLR is missing for an ALT: " + SYMBOLIC + " (symbolic ALT), " + REF_PAST_WINDOW + " (REF longer than the window holds), "
                        + INDEL + " (a masked model scores substitutions only), " + REF_MISMATCH + " (REF contradicts the FASTA), " + NOT_FINITE + " (the model gave no finite number); '.' for an ALT with a value"));
        lines.add(new VCFHeaderLine(HEADER_KEY, "model=" + settings.modelName() + ";model_sha256=" + settings.modelDigest() + ";window=" + settings.window()
                + ";rc_average=" + settings.rcAverage() + ";check_ref=" + settings.checkRef().code()
                + ";scoring=" + (masked == null ? "causal" : "masked-marginal")));
        return new VCFHeader(lines, in.getGenotypeSamples());
    }

    /** The state of one pass: the block of pending records, the order check and the counts. */
    private final class Run {
        final Path vcf;
        final FastaReference fasta;
        final Map<String, Long> lengths;
        final List<String> names;
        final Consumer<String> warn;
        VariantContextWriter writer;
        final List<Pending> pending = new ArrayList<>();
        final List<byte[]> windows = new ArrayList<>();
        final List<MaskedMarginalScorer.Query> queries = new ArrayList<>();
        final Set<String> finishedContigs = new HashSet<>();
        String contig;
        long lastStart;
        long records, written, values, scored, symbolic, mismatches, excluded, pastWindow, indels, windowCount;

        Run(Path vcf, FastaReference fasta, Map<String, Long> lengths, List<String> names, Consumer<String> warn) {
            this.vcf = vcf;
            this.fasta = fasta;
            this.lengths = lengths;
            this.names = names;
            this.warn = warn;
        }

        void add(VariantContext vc) throws IOException {
            records++;
            String where = vc.getContig() + ":" + vc.getStart();
            checkOrder(vc, where);
            Long length = lengths.get(vc.getContig());
            if (length == null)
                throw new VariantInputException(vcf, where + ": contig '" + vc.getContig() + "' is not in " + fasta.file() + " (it has "
                        + names.size() + ": " + String.join(", ", names.subList(0, Math.min(5, names.size()))) + (names.size() > 5 ? ", ..." : "") + ")");
            long pos0 = vc.getStart() - 1L;
            byte[] ref = upper(vc.getReference().getBases());
            String mismatch = refMismatch(vc.getContig(), pos0, ref, length);
            int alts = vc.getAlternateAlleles().size();
            int[] altWindows = new int[alts];
            Arrays.fill(altWindows, -1);
            String[] missing = new String[alts];
            if (mismatch != null) {
                String line = where + ": REF " + new String(ref, java.nio.charset.StandardCharsets.US_ASCII) + " " + mismatch;
                switch (settings.checkRef()) {
                    case ERROR -> throw new VariantInputException(vcf, line + " (--check-ref w keeps such records with missing values, x leaves them out)");
                    case WARN -> {
                        if (++mismatches <= WARNINGS_SHOWN) warn.accept(vcf + ": " + line + ": kept, scores missing");
                        Arrays.fill(missing, REF_MISMATCH);
                        enqueue(Pending.unscored(vc, missing));
                    }
                    case EXCLUDE -> {
                        mismatches++;
                        excluded++;
                    }
                }
                return;
            }
            List<byte[]> altBases = new ArrayList<>(alts);
            boolean any = false;
            for (Allele a : vc.getAlternateAlleles()) {
                byte[] b = scorable(a) ? upper(a.getBases()) : null;
                if (b == null) {
                    symbolic++;
                    missing[altBases.size()] = SYMBOLIC;
                } else if (masked != null && b.length != ref.length) {
                    indels++;
                    missing[altBases.size()] = INDEL;
                    b = null;
                }
                any |= b != null;
                altBases.add(b);
            }
            if (!any) {
                enqueue(Pending.unscored(vc, missing));
                return;
            }
            VariantWindow w = VariantWindow.around(pos0, length, settings.window());
            if (!w.holds(pos0, ref.length)) {
                pastWindow++;
                for (int i = 0; i < alts; i++) if (missing[i] == null) missing[i] = REF_PAST_WINDOW;
                enqueue(Pending.unscored(vc, missing));
                return;
            }
            byte[] refWindow = DnaVocabulary.encode(fasta.subsequence(vc.getContig(), w.start(), w.end()).bases());
            int offset = (int) (pos0 - w.start());
            if (masked != null) {
                int[][] altIds = new int[alts][];
                for (int i = 0; i < alts; i++) if (altBases.get(i) != null) altIds[i] = modelIds(DnaVocabulary.encode(altBases.get(i)));
                queries.add(new MaskedMarginalScorer.Query(modelIds(refWindow), offset, modelIds(DnaVocabulary.encode(ref)), altIds));
                windowCount += masked.runsReverseComplement() ? 2 : 1;
                enqueue(new Pending(vc, -1, altWindows, queries.size() - 1, missing));
                return;
            }
            int refIndex = addWindow(refWindow);
            for (int i = 0; i < alts; i++) {
                if (altBases.get(i) == null) continue;
                altWindows[i] = addWindow(VariantWindow.substitute(refWindow, offset, ref.length, DnaVocabulary.encode(altBases.get(i))));
            }
            enqueue(new Pending(vc, refIndex, altWindows, -1, missing));
        }

        int[] modelIds(byte[] dna) {
            int[] out = new int[dna.length];
            for (int i = 0; i < dna.length; i++) out[i] = maskedIds[dna[i]];
            return out;
        }

        /** Adds a window (and, with --rc-average, its reverse complement right after it); returns its index. */
        int addWindow(byte[] ids) {
            windows.add(ids);
            if (settings.rcAverage()) {
                byte[] rc = new byte[ids.length];
                for (int i = 0; i < ids.length; i++) rc[i] = (byte) DnaVocabulary.complement(ids[ids.length - 1 - i]);
                windows.add(rc);
            }
            return windows.size() - (settings.rcAverage() ? 2 : 1);
        }

        void enqueue(Pending p) throws IOException {
            pending.add(p);
            if (windows.size() + queries.size() >= BLOCK_BATCHES * settings.batch() || pending.size() >= BLOCK_BATCHES * settings.batch()) flush();
        }

        void flush() throws IOException {
            double[] logP = scorer == null ? new double[0] : scorer.logLikelihoods(windows);
            double[][] marginals = masked == null ? new double[0][] : masked.score(queries);
            windowCount += windows.size();
            for (Pending p : pending) {
                VariantContext vc = p.vc();
                VariantContextBuilder b = new VariantContextBuilder(vc);
                b.rmAttribute(MISSING_KEY);
                if (p.altWindows().length == 0) b.rmAttribute(INFO_KEY);
                else {
                    List<String> v = new ArrayList<>(p.altWindows().length), why = new ArrayList<>(p.altWindows().length);
                    boolean anyMissing = false;
                    for (int i = 0; i < p.altWindows().length; i++) {
                        int a = p.altWindows()[i];
                        values++;
                        double llr;
                        if (p.query() >= 0) llr = marginals[p.query()][i];
                        else {
                            llr = a < 0 ? Double.NaN : logP[a] - logP[p.refWindow()];
                            if (a >= 0 && settings.rcAverage()) llr = 0.5 * (llr + logP[a + 1] - logP[p.refWindow() + 1]);
                        }
                        if (Double.isFinite(llr)) scored++;
                        v.add(format(llr));
                        // a value that is not a number without a reason given above can only be the model's (NaN/Inf logits)
                        String reason = Double.isFinite(llr) ? null : p.missing()[i] != null ? p.missing()[i] : NOT_FINITE;
                        anyMissing |= reason != null;
                        why.add(reason == null ? "." : reason);
                    }
                    b.attribute(INFO_KEY, v);
                    if (anyMissing) b.attribute(MISSING_KEY, why);
                }
                try {
                    writer.add(b.make());
                } catch (htsjdk.tribble.TribbleException | IllegalArgumentException | IllegalStateException e) {
                    throw new VariantInputException(vcf, vc.getContig() + ":" + vc.getStart() + ": cannot be written (" + oneLine(e) + ")", e);
                }
                written++;
            }
            pending.clear();
            windows.clear();
            queries.clear();
        }

        /** Tabix needs records grouped by contig and ascending within one: say so before it fails deep inside. */
        void checkOrder(VariantContext vc, String where) throws VariantInputException {
            if (vc.getContig().equals(contig)) {
                if (vc.getStart() < lastStart)
                    throw new VariantInputException(vcf, where + ": not sorted (after " + contig + ":" + lastStart
                            + "); the tabix index needs a sorted VCF (bcftools sort)");
            } else {
                if (finishedContigs.contains(vc.getContig()))
                    throw new VariantInputException(vcf, where + ": not sorted (contig '" + vc.getContig()
                            + "' appeared before another contig); the tabix index needs a sorted VCF (bcftools sort)");
                if (contig != null) finishedContigs.add(contig);
                contig = vc.getContig();
            }
            lastStart = vc.getStart();
        }

        /** Null when REF equals the FASTA's bases at pos0 (upper case; the FASTA reads IUPAC codes as N), else why not. */
        String refMismatch(String contig, long pos0, byte[] ref, long length) throws IOException {
            if (pos0 + ref.length > length) return "reaches past the end of '" + contig + "' (" + length + " bases) in " + fasta.file();
            byte[] actual = fasta.subsequence(contig, pos0, pos0 + ref.length).bases();
            if (Arrays.equals(actual, ref)) return null;
            return "does not match " + fasta.file() + " (" + new String(actual, java.nio.charset.StandardCharsets.US_ASCII) + ")";
        }
    }

    /** An ALT of plain bases (A, C, G, T, N); symbolic alleles, '*' and breakends are not. */
    static boolean scorable(Allele a) {
        if (a.isSymbolic() || a.isNoCall() || a.isBreakpoint() || a.isSingleBreakend()) return false;
        byte[] b = a.getBases();
        if (b.length == 0) return false;
        for (byte x : b) {
            switch (Character.toUpperCase((char) x)) {
                case 'A', 'C', 'G', 'T', 'N' -> {}
                default -> { return false; }
            }
        }
        return true;
    }

    private static byte[] upper(byte[] bases) {
        byte[] out = bases.clone();
        for (int i = 0; i < out.length; i++) out[i] = (byte) Character.toUpperCase((char) out[i]);
        return out;
    }

    /** Six significant digits without an exponent ("." when there is no number): plenty for a log ratio. */
    static String format(double v) {
        if (!Double.isFinite(v)) return ".";
        if (v == 0) return "0";
        return new BigDecimal(v).round(new MathContext(6)).stripTrailingZeros().toPlainString();
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        return (m == null ? e.getClass().getSimpleName() : m).replace('\n', ' ').trim();
    }
}
