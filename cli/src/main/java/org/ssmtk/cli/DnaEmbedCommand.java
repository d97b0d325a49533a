package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.SafeTensorsWriter;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.genomics.io.DnaSequence;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.tokenize.CaduceusVocabulary;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;


/** {@code ssmtk dna embed}: one vector per FASTA record (or window), norm_f's output pooled. */
final class DnaEmbedCommand implements Command {
    static final String EMBEDDINGS = "embeddings";

    public String name() { return "embed"; }

    public String summary() { return "embeddings of the records of a FASTA (norm_f output pooled) to safetensors or TSV"; }

    public String footer() {
        return "One row per record no longer than --seq-len (id = the record name); a longer record is cut into\n"
                + "consecutive windows of --seq-len bases (the last one shorter), one row each, id NAME:START-END\n"
                + "(1-based, inclusive), as dna classify does. A row is the model's final normalized hidden states\n"
                + "(norm_f output) over the window, averaged over positions (--pooling mean) or the last one (last).\n"
                + "A Caduceus model (model_type caduceus) reads bases with its own tokenizer's ids (tokenizer_config.json's\n"
                + "characters, checked against config.json's complement_map); Caduceus-PS gives each position two halves,\n"
                + "the forward strand's and the reverse complement's, which are averaged (the convention of Caduceus'\n"
                + "own sequence classifier; with --pooling last, each strand's own last base), so a row has d_model values\n"
                + "either way and a sequence and its reverse complement embed alike.\n"
                + "OUTPUT ending in .tsv: columns id, e0 .. e<hidden-1>. Otherwise safetensors: tensor '" + EMBEDDINGS + "'\n"
                + "float32 (rows, hidden), and the row ids as a JSON array in the metadata key 'ids'.\n"
                + "The file appears only when complete (temporary file, then rename).\n\n"
                + "example: ssmtk dna embed --model run1/model --fasta genes.fa --output genes.safetensors";
    }

    static final Opt<Path> MODEL = Opt.input("model", "DIR", "a DNA model (dna pretrain or dna train-classifier)").existingDir().required();
    static final Opt<Path> FASTA = Opt.input("fasta", "FILE", "sequences to embed (.fa, .fa.gz)").required();
    static final Opt<Path> OUTPUT = Opt.output("output", "FILE", "OUT.safetensors or OUT.tsv").required();
    static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "window length for long records").byDefault(1024);

    public List<Opt<?>> options() {
        return Opt.list(MODEL, FASTA, OUTPUT, SEQ_LEN, CommonOptions.POOLING, CommonOptions.INFERENCE);
    }

    public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
        Path dir = MODEL.get(cl);
        Path fasta = FASTA.get(cl);
        Path output = OUTPUT.get(cl);
        boolean tsv = output.getFileName().toString().endsWith(".tsv");
        int seqLen = SEQ_LEN.get(cl);
        String pooling = CommonOptions.POOLING.get(cl);
        MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);
        boolean caduceus = MambaConfig.CADUCEUS.equals(checkpoint.config().modelType());
        if (!caduceus && !DnaVocabulary.check(dir))
            throw new UsageException(dir + ": has no " + DnaVocabulary.FILE + "; embed with a model trained on DNA (ssmtk dna pretrain)");
        CaduceusVocabulary tokens = caduceus ? CaduceusVocabulary.read(dir, checkpoint.config()) : null;
        List<DnaSequence> records;
        try (FastaReference ref = FastaReference.open(fasta)) {
            records = ref.readAll();
        }
        List<String> ids = new ArrayList<>();
        List<int[]> windows = new ArrayList<>();
        for (DnaSequence s : records) {
            byte[] enc = DnaVocabulary.encode(s.bases());
            if (enc.length == 0) throw new UsageException(fasta + ": record '" + s.name() + "' is empty; nothing to embed");
            for (int from = 0; from < enc.length; from += seqLen) {
                int to = Math.min(enc.length, from + seqLen);
                ids.add(enc.length <= seqLen ? s.name() : s.name() + ":" + (s.start() + from + 1) + "-" + (s.start() + to));
                int[] w = new int[to - from];
                for (int i = from; i < to; i++) w[i - from] = tokens == null ? enc[i] : tokens.id(enc[i]);
                windows.add(w);
            }
        }
        int h = checkpoint.config().hiddenSize();
        float[] emb = new float[Math.multiplyExact(windows.size(), h)];
        long t0 = System.nanoTime(), bases = 0;
        try (Backend backend = CommonOptions.backend(cl, err)) {
            MambaModel model = CommonOptions.loadForInference(cl, backend, checkpoint);
            for (int r = 0; r < windows.size(); r++) {
                int[] w = windows.get(r);
                float[] hidden = backend.toHost(model.backbone(w, 1, w.length, null, null));
                if (model.strands() == 2) { // Caduceus-PS: average the forward and reverse-complement halves
                    // last: each strand's own last base (the reverse complement's is at forward position 0), as MambaModel.pool takes it
                    boolean last = pooling.equals(MambaConfig.POOL_LAST);
                    for (int t = 0; t < w.length; t++) {
                        int pair = last && t == w.length - 1 ? 0 : t;
                        for (int j = 0; j < h; j++) hidden[t * h + j] = (hidden[t * h + j] + hidden[(w.length + pair) * h + j]) / 2;
                    }
                }
                if (pooling.equals(MambaConfig.POOL_LAST)) {
                    System.arraycopy(hidden, (w.length - 1) * h, emb, r * h, h);
                } else {
                    // summed in double so long windows do not lose the small terms
                    for (int j = 0; j < h; j++) {
                        double sum = 0;
                        for (int t = 0; t < w.length; t++) sum += hidden[t * h + j];
                        emb[r * h + j] = (float) (sum / w.length);
                    }
                }
                bases += w.length;
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (tsv) {
            AtomicFiles.write(output, o -> {
                Writer wr = new OutputStreamWriter(o, StandardCharsets.UTF_8);
                StringBuilder header = new StringBuilder("id");
                for (int j = 0; j < h; j++) header.append("\te").append(j);
                wr.write(header.append('\n').toString());
                for (int r = 0; r < ids.size(); r++) {
                    StringBuilder line = new StringBuilder(ids.get(r));
                    for (int j = 0; j < h; j++) line.append('\t').append(emb[r * h + j]);
                    wr.write(line.append('\n').toString());
                }
                wr.flush();
            });
        } else {
            new SafeTensorsWriter().metadata("ids", new ObjectMapper().writeValueAsString(ids)).metadata("pooling", pooling)
                    .metadata("seq_len", Integer.toString(seqLen)).putF32(EMBEDDINGS, emb, ids.size(), h).write(output);
        }
        out.printf(Locale.ROOT, "%d records, %d rows x %d (%s pooling), %,d bases in %.2f s (%,.0f bases/s) -> %s%n", records.size(), ids.size(), h,
                pooling, bases, seconds, bases / Math.max(seconds, 1e-9), output);
        return 0;
    }
}
