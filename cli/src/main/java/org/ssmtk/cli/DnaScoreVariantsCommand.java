package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.tokenize.CaduceusVocabulary;
import org.ssmtk.genomics.tokenize.DnaVocabulary;
import org.ssmtk.genomics.variant.CausalWindowScorer;
import org.ssmtk.genomics.variant.CheckRef;
import org.ssmtk.genomics.variant.MaskedMarginalScorer;
import org.ssmtk.genomics.variant.VcfVariantScorer;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;


/**
 * {@code ssmtk dna score-variants}: a log-likelihood ratio per ALT allele of a VCF under a causal DNA
 * model, or the masked marginal under a masked one (Caduceus).
 */
final class DnaScoreVariantsCommand implements Command {
    public String name() { return "score-variants"; }

    public String summary() { return "log-likelihood ratio of each ALT allele of a VCF under a DNA language model, to a bgzipped, indexed VCF"; }

    public String footer() {
        return "For each record the REF window is --window (W) bases of the FASTA around POS:\n"
                + "  start = max(0, pos0 - W/2), end = min(contig length, start + W), then start = max(0, end - W)\n"
                + "(pos0: the 0-based position of REF's first base); each ALT window is the same bases with REF\n"
                + "replaced by the ALT (an indel changes its length). INFO/SSMTK_LLR (Number=A) is\n"
                + "ln P(ALT window) - ln P(REF window), where ln P sums ln p(base | the bases before it in the\n"
                + "window) over every base after the first (natural log; below 0: the model finds the ALT less\n"
                + "likely). --rc-average averages it with the same difference on the reverse-complement strand.\n"
                + "A Caduceus model (masked LM) gets the masked marginal instead: REF's bases are masked in the REF\n"
                + "window and SSMTK_LLR sums ln p(ALT base) - ln p(REF base) over them, one forward per record.\n"
                + "It scores substitutions (SNVs, MNVs); an indel ALT gets a missing value. Caduceus-PS heads sum\n"
                + "both strands already, so --rc-average adds nothing there; for Caduceus-Ph it averages with the\n"
                + "reverse-complement window masked at the mirrored bases.\n"
                + "Every record is written in input order with only SSMTK_LLR added (a header line names the\n"
                + "model by its folder's name and model_sha256, the SHA-256 of config.json then model.safetensors, and\n"
                + "the window); symbolic ALTs (<DEL>, *, breakends) get a missing value, and every missing\n"
                + "value says why in INFO/SSMTK_MISSING (Number=A, written on such records only). --check-ref says\n"
                + "what a REF that contradicts the FASTA does, as in bcftools norm: e = error (default), w = warn\n"
                + "and keep with missing values, x = leave the record out. A contig missing from the FASTA is an\n"
                + "error. The input must be sorted (the output gets a tabix index); OUT and OUT.tbi appear\n"
                + "together, when complete. Records are read, scored --batch windows per forward and written as\n"
                + "they go: memory does not grow with the number of records. Variants/s go to stderr.\n"
                + "Scattered runs: --shard CONTIG:START-END scores and writes only the records whose POS lies in [START, END)\n"
                + "of CONTIG (0-based half-open), under the whole run's header; the shards that ssmtk scatter plan --vcf\n"
                + "lists, gathered in its order by ssmtk gather vcf, give the unsplit run's file byte for byte. A bgzipped\n"
                + "VCF with a tabix index (VCF.tbi) is queried for the shard's region; a plain VCF (or one with only a\n"
                + ".csi, which HTSJDK does not read for VCFs) is read whole by every shard.\n\n"
                + "example: ssmtk dna score-variants --model run1/model --fasta ref.fa --vcf in.vcf.gz \\\n"
                + "    --out scored.vcf.gz";
    }

    static final Opt<Path> MODEL = Opt.input("model", "DIR", "a DNA language model from dna pretrain (next-base, or Caduceus)").existingDir().required();
    static final Opt<Path> FASTA = Opt.input("fasta", "FILE", "reference FASTA (.fa, .fa.gz; with a .fai read window by window)").required();
    static final Opt<Path> VCF = Opt.input("vcf", "VCF", "variants (.vcf, .vcf.gz), sorted").existingFile().required();
    static final Opt<Path> OUT = Opt.output("out", "OUT.vcf.gz", "the scored VCF, bgzipped, with OUT.vcf.gz.tbi").required()
            .check(p -> p.getFileName() != null && (p.getFileName().toString().endsWith(".vcf.gz") || p.getFileName().toString().endsWith(".vcf.bgz")),
                    "must end in .vcf.gz (the output is bgzipped and tabix-indexed)");
    static final Opt<Integer> WINDOW = Opt.integer("window", "W", "bases of reference context per variant (dna pretrain's --seq-len default)")
            .check(w -> w >= 2, "must be at least 2").byDefault(1024);
    static final Opt<Boolean> RC_AVERAGE = Opt.flag("rc-average", "average the forward and reverse-complement strands' ratios");
    static final Opt<String> CHECK_REF = Opt.choice("check-ref", "REF contradicting the FASTA: error, warn and keep, or exclude", "e", "w", "x")
            .byDefault("e");
    static final Opt<Integer> BATCH = Opt.positiveInt("batch", "N", "windows per forward pass (larger on a GPU)").byDefault(32);

    static final Opt<String> SHARD = Opt.string("shard", "CONTIG:START-END",
            "only the records whose POS lies in this range (0-based half-open): a scattered job's part");

    public List<Opt<?>> options() {
        return Opt.list(MODEL, FASTA, VCF, OUT, WINDOW, RC_AVERAGE, CHECK_REF, BATCH, SHARD, CommonOptions.INFERENCE);
    }

    public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
        Path dir = MODEL.get(cl);
        Path fasta = FASTA.get(cl);
        Path vcf = VCF.get(cl);
        Path output = OUT.get(cl);
        if (Files.exists(output) && Files.isSameFile(output, vcf))
            throw new UsageException("--out " + output + " is the input --vcf");
        int window = WINDOW.get(cl);
        int batch = BATCH.get(cl);
        CheckRef checkRef = CheckRef.parse(CHECK_REF.get(cl));
        MambaConfig config = MambaConfig.read(dir.resolve(MambaCheckpoint.CONFIG));
        boolean caduceus = MambaConfig.CADUCEUS.equals(config.modelType());
        CaduceusVocabulary tokens = caduceus ? CaduceusVocabulary.read(dir, config) : null;
        if (!caduceus && !DnaVocabulary.check(dir))
            throw new UsageException(dir + ": has no " + DnaVocabulary.FILE + "; score with a model trained on DNA (ssmtk dna pretrain)");
        if (!caduceus && config.vocabSize() < DnaVocabulary.SIZE)
            throw new UsageException(dir + ": a vocabulary of " + config.vocabSize() + " ids; the DNA vocabulary needs " + DnaVocabulary.SIZE);
        // a block of windows is one forward with every position's logits; an indel's ALT window may be longer than
        // --window, which the scorer blocks by length, so this is the shape of the common case
        CommonOptions.checkShape(config, "--batch", batch, "--window", window, true);
        MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);
        // the model by its folder's name and content, not its path: a pipeline's tasks each see it staged
        // under their own work folder, and their parts must share one header (ssmtk gather vcf checks it)
        Path named = dir.toAbsolutePath().normalize().getFileName();
        String modelName = named == null ? "/" : named.toString();
        if (modelName.contains("\n") || modelName.contains(";")) throw new UsageException("--model " + dir + ": a name with ';' or a newline cannot go into the header line");
        String modelDigest = VcfVariantScorer.modelDigest(dir);
        boolean rc = RC_AVERAGE.get(cl);
        org.ssmtk.genomics.score.ScoreShard shard = null;
        if (SHARD.given(cl))
            try {
                shard = org.ssmtk.genomics.score.ScoreShard.parse(SHARD.get(cl));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--shard: " + e.getMessage());
            }

        VcfVariantScorer.Summary s;
        long t0;
        try (FastaReference ref = FastaReference.open(fasta); Backend backend = CommonOptions.backend(cl, err)) {
            MambaModel model = CommonOptions.loadForInference(cl, backend, checkpoint);
            t0 = System.nanoTime();
            VcfVariantScorer.Settings settings = new VcfVariantScorer.Settings(window, rc, checkRef, batch, modelName, modelDigest);
            VcfVariantScorer scorer;
            if (caduceus) {
                if (rc && model.strands() == 2)
                    err.println("ssmtk dna score-variants: note: a Caduceus-PS head sums both strands at every position, so its scores are"
                            + " already the reverse complement's; --rc-average runs nothing more");
                int[] ids = new int[DnaVocabulary.SIZE];
                for (int i = 0; i < ids.length; i++) ids[i] = tokens.id(i);
                scorer = new VcfVariantScorer(new MaskedMarginalScorer(model, CaduceusVocabulary.MASK, config.caduceus().complementMap(), batch, rc),
                        ids, settings);
            } else {
                scorer = new VcfVariantScorer(new CausalWindowScorer(model, batch), settings);
            }
            s = scorer.score(vcf, ref, output, shard, line -> err.println("ssmtk dna score-variants: warning: " + line));
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        err.printf(Locale.ROOT, "ssmtk dna score-variants: %,d records (%,d written, %,d excluded), %,d ALT values (%,d scored, %,d symbolic,"
                        + " %,d REF mismatches%s) in %.2f s: %,.1f variants/s, %,d windows of %d bases%s, %,.0f bases/s -> %s%n",
                s.records(), s.written(), s.excluded(), s.values(), s.scored(), s.symbolic(), s.refMismatches(),
                caduceus ? String.format(Locale.ROOT, ", %,d indels not scored by the masked model", s.indels()) : "", seconds,
                s.records() / Math.max(seconds, 1e-9), s.windows(), window, rc ? " (both strands)" : "", s.bases() / Math.max(seconds, 1e-9), output);
        if (shard != null)
            err.printf(Locale.ROOT, "ssmtk dna score-variants: --shard %s: %,d records read %s%n", shard, s.read(),
                    s.indexed() ? "through " + vcf + ".tbi (the shard's region)" : "(the whole VCF streamed: no usable .tbi)");
        return 0;
    }
}
