package org.ssmtk.cli;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ssmtk dna score-variants} end to end: every LLR in the written VCF is recomputed here from
 * the model's forward logits on windows built by hand from the FASTA (one window per forward, no
 * batching, no padding), and every other field must come back unchanged.
 */
class DnaScoreVariantsCommandTest {
    static final Path SMALL = DnaCommandsTest.DATA.resolve("small.fa");
    static final int W = 64;
    @TempDir
    static Path shared;
    static Path model;
    static Map<String, String> contigs = new LinkedHashMap<>();
    @TempDir
    Path dir;

    @BeforeAll
    static void pretrain() throws Exception {
        Path run = shared.resolve("pt");
        MainTest.Result r = MainTest.run("dna", "pretrain", "--fasta", SMALL.toString(), "--out", run.toString(), "--preset", "tiny",
                "--seq-len", "32", "--batch", "4", "--steps", "6", "--lr", "3e-3", "--eval-windows", "2", "--threads", "2", "--checkpoint-every", "0");
        assertEquals(0, r.code(), r.err());
        model = run.resolve("model");
        try (FastaReference ref = FastaReference.open(SMALL)) {
            for (FastaReference.Contig c : ref.contigs()) contigs.put(c.name(), new String(ref.sequence(c.name()).bases(), StandardCharsets.US_ASCII));
        }
    }

    /** One VCF record as text; {@code alts} comma-separated. */
    record Rec(String chrom, long pos, String id, String ref, String alts, String qual, String filter, String info, String samples) {
        static Rec of(String chrom, long pos, String ref, String alts) {
            return new Rec(chrom, pos, ".", ref, alts, "50", "PASS", "DP=9", "0/1:7\t1/1:3");
        }

        String line() {
            return String.join("\t", chrom, Long.toString(pos), id, ref, alts, qual, filter, info, "GT:AD", samples);
        }
    }

    static String ref(String chrom, long pos, int len) {
        return contigs.get(chrom).substring((int) pos - 1, (int) pos - 1 + len);
    }

    /** A base that differs from the reference base at pos (1-based), chosen by shifting A->C->G->T->A. */
    static String other(String chrom, long pos, int shift) {
        String bases = "ACGT";
        int i = bases.indexOf(contigs.get(chrom).charAt((int) pos - 1));
        return String.valueOf(bases.charAt(((i < 0 ? 0 : i) + shift) % 4));
    }

    static Path vcf(Path dir, List<Rec> recs) throws Exception {
        StringBuilder sb = new StringBuilder("##fileformat=VCFv4.2\n");
        for (Map.Entry<String, String> c : contigs.entrySet()) sb.append("##contig=<ID=").append(c.getKey()).append(",length=").append(c.getValue().length()).append(">\n");
        sb.append("##FILTER=<ID=q10,Description=\"Quality below 10\">\n")
                .append("##INFO=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">\n")
                .append("##INFO=<ID=AF,Number=A,Type=Float,Description=\"Allele frequency\">\n")
                .append("##INFO=<ID=SVTYPE,Number=1,Type=String,Description=\"SV type\">\n")
                .append("##INFO=<ID=END,Number=1,Type=Integer,Description=\"End\">\n")
                .append("##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n")
                .append("##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"Depths\">\n")
                .append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\n");
        for (Rec r : recs) sb.append(r.line()).append('\n');
        return Files.writeString(dir.resolve("in.vcf"), sb.toString());
    }

    /** The variants of the main test: SNVs, an MNV, an insertion, a deletion, multi-allelic and symbolic records, both contig ends. */
    static List<Rec> variants() {
        List<Rec> v = new ArrayList<>();
        v.add(Rec.of("chr1", 1, ref("chr1", 1, 1), other("chr1", 1, 1)));                       // the contig's first base
        v.add(Rec.of("chr1", 20, ref("chr1", 20, 1), other("chr1", 20, 2)));                      // within W/2 of the start
        v.add(new Rec("chr1", 100, "rs1", ref("chr1", 100, 1), other("chr1", 100, 3), ".", "q10", "DP=5;AF=0.5", "0|1:1,2\t./.:."));
        v.add(Rec.of("chr1", 200, ref("chr1", 200, 3), other("chr1", 200, 1) + other("chr1", 201, 1) + other("chr1", 202, 1))); // MNV
        v.add(Rec.of("chr1", 300, ref("chr1", 300, 1), ref("chr1", 300, 1) + "ACG"));           // insertion
        v.add(Rec.of("chr1", 400, ref("chr1", 400, 6), ref("chr1", 400, 1)));                    // deletion of 5
        v.add(Rec.of("chr1", 500, ref("chr1", 500, 1), other("chr1", 500, 1) + "," + other("chr1", 500, 2) + "," + ref("chr1", 500, 1) + "TT")); // multi-allelic
        v.add(new Rec("chr1", 600, ".", ref("chr1", 600, 1), "<DEL>", "50", "PASS", "SVTYPE=DEL;END=610", "0/1:7\t0/0:3"));
        v.add(Rec.of("chr1", 700, ref("chr1", 700, 1), other("chr1", 700, 1) + ",*"));           // a real ALT beside '*'
        v.add(Rec.of("chr1", 700, ref("chr1", 700, 1), "*"));
        v.add(Rec.of("chr1", 5990, ref("chr1", 5990, 1), other("chr1", 5990, 1)));               // within W/2 of the end
        v.add(Rec.of("chr1", 5998, ref("chr1", 5998, 3), ref("chr1", 5998, 1)));                 // deletion reaching the last base
        v.add(Rec.of("chr1", 6000, ref("chr1", 6000, 1), other("chr1", 6000, 1)));               // the last base
        v.add(Rec.of("chr2", 900, ref("chr2", 900, 40), ref("chr2", 900, 1)));                   // REF past the window's end: missing
        v.add(Rec.of("chr2", 1500, ref("chr2", 1500, 1), "."));                                   // no ALT: nothing to add
        v.add(Rec.of("chrM", 250, ref("chrM", 250, 2), other("chrM", 250, 1) + ref("chrM", 251, 1)));
        return v;
    }

    /** ln P(window) from one forward of that window alone, log-softmax in double over the padded row. */
    static double logP(MambaModel m, String bases) {
        byte[] enc = DnaVocabulary.encode(bases.getBytes(StandardCharsets.US_ASCII));
        int[] ids = new int[enc.length];
        for (int i = 0; i < enc.length; i++) ids[i] = enc[i];
        float[] logits = m.forward(ids, 1, ids.length);
        int v = m.config().paddedVocabSize();
        double sum = 0;
        for (int t = 1; t < ids.length; t++) {
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int k = 0; k < v; k++) max = Math.max(max, logits[(t - 1) * v + k]);
            for (int k = 0; k < v; k++) z += Math.exp(logits[(t - 1) * v + k] - max);
            sum += logits[(t - 1) * v + ids[t]] - max - Math.log(z);
        }
        return sum;
    }

    static String reverseComplement(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = s.length() - 1; i >= 0; i--) {
            char c = s.charAt(i);
            sb.append(switch (c) { case 'A' -> 'T'; case 'C' -> 'G'; case 'G' -> 'C'; case 'T' -> 'A'; default -> c; });
        }
        return sb.toString();
    }

    /** The expected values of one record, written out from the issue's rule; NaN where the value must be missing. */
    static double[] expected(MambaModel m, Rec r, int w, boolean rc) {
        String seq = contigs.get(r.chrom());
        long len = seq.length(), pos0 = r.pos() - 1;
        long start = Math.max(0, pos0 - w / 2);
        long end = Math.min(len, start + w);
        start = Math.max(0, end - w);
        if (r.alts().equals(".")) return new double[0];
        String[] alts = r.alts().split(",");
        double[] out = new double[alts.length];
        boolean fits = pos0 + r.ref().length() <= end;
        String refWin = seq.substring((int) start, (int) end);
        for (int i = 0; i < alts.length; i++) {
            if (!fits || !alts[i].matches("[ACGTN]+")) {
                out[i] = Double.NaN;
                continue;
            }
            String altWin = seq.substring((int) start, (int) pos0) + alts[i] + seq.substring((int) (pos0 + r.ref().length()), (int) end);
            double llr = logP(m, altWin) - logP(m, refWin);
            if (rc) llr = 0.5 * (llr + logP(m, reverseComplement(altWin)) - logP(m, reverseComplement(refWin)));
            out[i] = llr;
        }
        return out;
    }

    static List<String> records(Path vcfGz) throws Exception {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(vcfGz))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> !l.startsWith("#")).toList();
        }
    }

    static List<String> header(Path vcfGz) throws Exception {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(vcfGz))) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("#")).toList();
        }
    }

    /** INFO as key -> value (flags -> ""), SSMTK_LLR taken out into {@code llr}, SSMTK_MISSING into {@code why}. */
    static Map<String, String> info(String field, List<String> llr, List<String> why) {
        Map<String, String> m = new HashMap<>();
        if (field.equals(".")) return m;
        for (String kv : field.split(";")) {
            int eq = kv.indexOf('=');
            String k = eq < 0 ? kv : kv.substring(0, eq), val = eq < 0 ? "" : kv.substring(eq + 1);
            if (k.equals("SSMTK_LLR")) llr.add(val);
            else if (k.equals("SSMTK_MISSING")) why.add(val);
            else m.put(k, val);
        }
        return m;
    }

    static Map<String, String> info(String field, List<String> llr) {
        return info(field, llr, new ArrayList<>());
    }

    /** The values a record must get (NaN: missing), recomputed by a test's own rule. */
    interface Expectation {
        double[] of(Rec r);
    }

    /** Why an ALT must be missing, as the test reads the rules (null: it has a value). */
    static String reason(Rec r, String alt, int w, boolean masked) {
        String seq = contigs.get(r.chrom());
        long pos0 = r.pos() - 1, start = Math.max(0, pos0 - w / 2), end = Math.min(seq.length(), start + w);
        start = Math.max(0, end - w);
        if (!alt.matches("[ACGTN]+")) return "symbolic";
        if (masked && alt.length() != r.ref().length()) return "indel";
        if (pos0 + r.ref().length() > end) return "ref_past_window";
        return null;
    }

    /** Checks every output record against its input and the recomputed LLRs; returns the largest absolute difference. */
    static double check(MambaModel m, List<Rec> in, List<String> out, int w, boolean rc) {
        return check(in, out, r -> expected(m, r, w, rc), w, false);
    }

    static double check(List<Rec> in, List<String> out, Expectation expect, int w, boolean masked) {
        assertEquals(in.size(), out.size(), "every record, in order");
        double worst = 0;
        for (int i = 0; i < in.size(); i++) {
            Rec r = in.get(i);
            String[] f = out.get(i).split("\t");
            String[] g = r.line().split("\t");
            String where = r.chrom() + ":" + r.pos();
            for (int k : new int[]{0, 1, 2, 3, 4, 6, 8, 9, 10}) assertEquals(g[k], f[k], where + " column " + k);
            assertEquals(g[5].equals(".") ? "." : Double.parseDouble(g[5]), f[5].equals(".") ? "." : Double.parseDouble(f[5]), where + " QUAL");
            List<String> llr = new ArrayList<>(), why = new ArrayList<>();
            assertEquals(info(g[7], new ArrayList<>()), info(f[7], llr, why), where + " INFO besides SSMTK_LLR and SSMTK_MISSING");
            double[] want = expect.of(r);
            if (want.length == 0) {
                assertTrue(llr.isEmpty() && why.isEmpty(), where + ": no ALT, no value");
                continue;
            }
            assertEquals(1, llr.size(), where);
            String[] got = llr.getFirst().split(",");
            assertEquals(want.length, got.length, where + ": one value per ALT (Number=A)");
            boolean anyMissing = false;
            for (double x : want) anyMissing |= Double.isNaN(x);
            assertEquals(anyMissing ? 1 : 0, why.size(), where + ": SSMTK_MISSING exactly on records with a missing value");
            String[] reasons = anyMissing ? why.getFirst().split(",") : null;
            if (anyMissing) assertEquals(want.length, reasons.length, where + ": one reason per ALT (Number=A)");
            String[] alts = r.alts().split(",");
            for (int a = 0; a < want.length; a++) {
                if (Double.isNaN(want[a])) {
                    assertEquals(".", got[a], where + " ALT " + a + " must be missing");
                    assertEquals(reason(r, alts[a], w, masked), reasons[a], where + " ALT " + a + ": why it is missing");
                    continue;
                }
                if (anyMissing) assertEquals(".", reasons[a], where + " ALT " + a + " has a value, so no reason");
                double v = Double.parseDouble(got[a]);
                // float32 logits, summed over ~64 bases, batched with padding vs alone; 6 significant digits written
                assertEquals(want[a], v, 2e-4 + 2e-5 * Math.abs(want[a]), where + " ALT " + a);
                worst = Math.max(worst, Math.abs(want[a] - v));
            }
        }
        return worst;
    }

    @Test
    void everyLlrEqualsItsRecomputationFromForwardLogitsAndTheRestIsUnchanged() throws Exception {
        List<Rec> recs = variants();
        Path in = vcf(dir, recs);
        Path out = dir.resolve("out.vcf.gz");
        // --batch 3: many forwards, each of windows of mixed lengths (indels), and several blocks
        MainTest.Result r = MainTest.run("dna", "score-variants", "--model", model.toString(), "--fasta", SMALL.toString(), "--vcf", in.toString(),
                "--out", out.toString(), "--window", Integer.toString(W), "--batch", "3", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("variants/s"), r.err());
        assertTrue(r.err().contains("REF longer than fits"), r.err());
        assertTrue(Files.isRegularFile(dir.resolve("out.vcf.gz.tbi")), "tabix index beside the output");
        try (var files = Files.list(dir)) {
            assertEquals(new TreeSet<>(List.of("in.vcf", "out.vcf.gz", "out.vcf.gz.tbi")),
                    new TreeSet<>(files.map(p -> p.getFileName().toString()).toList()), "nothing temporary left");
        }
        List<String> head = header(out);
        String digest = sha256(model);
        assertTrue(head.stream().anyMatch(l -> l.startsWith("##INFO=<ID=SSMTK_LLR,Number=A,Type=Float")), String.join("\n", head));
        assertTrue(head.stream().anyMatch(l -> l.equals("##ssmtk_score_variants=model=model;model_sha256=" + digest + ";window=64;rc_average=false;check_ref=e;scoring=causal")),
                String.join("\n", head));
        assertEquals("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2", head.getLast());
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, MambaCheckpoint.load(model));
            double worst = check(m, recs, records(out), W, false);
            System.out.printf("score-variants: largest |LLR - recomputed| %.3g over %d records%n", worst, recs.size());
            // a window longer than a whole contig (chrM, 500 bases) is the contig
            Path out2 = dir.resolve("wide.vcf.gz");
            List<Rec> wide = List.of(Rec.of("chrM", 3, ref("chrM", 3, 1), other("chrM", 3, 1)), Rec.of("chrM", 499, ref("chrM", 499, 1), other("chrM", 499, 2)));
            r = MainTest.run("dna", "score-variants", "--model", model.toString(), "--fasta", SMALL.toString(), "--vcf", vcf(dir, wide).toString(),
                    "--out", out2.toString(), "--window", "1000", "--rc-average", "--threads", "2");
            assertEquals(0, r.code(), r.err());
            double worstRc = check(m, wide, records(out2), 1000, true);
            System.out.printf("score-variants --rc-average: largest |LLR - recomputed| %.3g%n", worstRc);
        }
    }

    /**
     * Issue 18: ssmtk scatter plan lists the VCF's shards (in its contig order, here not the FASTA's),
     * every shard runs the unsplit command line plus --shard, and ssmtk gather vcf joins the parts: the
     * bgzipped VCF and its tabix index equal the unsplit run's byte for byte. The windows are short, so
     * that forwards of few windows have fewer token rows than the CPU matmul's kernel switch: a record's
     * score must not depend on how many windows share its forward (CausalWindowScorer pads them).
     */
    @Test
    void plannedShardsJoinedByGatherAreTheUnsplitRunsFileAndIndex() throws Exception {
        List<Rec> recs = new ArrayList<>();
        for (String c : List.of("chr1", "chrM", "chr2")) for (Rec x : variants()) if (x.chrom().equals(c)) recs.add(x);
        Path in = vcf(dir, recs), out = Files.createDirectories(dir.resolve("out")).resolve("scored.vcf.gz"), tbi = Path.of(out + ".tbi");
        List<String> cmd = List.of("dna", "score-variants", "--model", model.toString(), "--fasta", SMALL.toString(), "--vcf", in.toString(),
                "--out", out.toString(), "--window", "24", "--batch", "3", "--threads", "2");   // forwards of 1 to 3 windows of ~24 bases
        MainTest.Result r = MainTest.run(cmd.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        Path single = Files.move(out, dir.resolve("single.vcf.gz")), singleTbi = Files.move(tbi, dir.resolve("single.vcf.gz.tbi"));
        Path plan = dir.resolve("shards.txt");
        r = MainTest.run("scatter", "plan", "--vcf", in.toString(), "--by", "250", "--output", plan.toString());
        assertEquals(0, r.code(), r.err());
        List<String> shards = Files.readAllLines(plan);
        // only pieces holding records (POS - 1 in them): chr1 at 1..200, 300..500, 600..700, 5990..6000; chrM 250; chr2 900, 1500
        assertEquals(List.of("chr1:0-250", "chr1:250-500", "chr1:500-750", "chr1:5750-6000", "chrM:0-250", "chr2:750-1000", "chr2:1250-1500"), shards);
        List<String> gather = new ArrayList<>(List.of("gather", "vcf", "--output", dir.resolve("gathered.vcf.gz").toString()));
        for (int i = 0; i < shards.size(); i++) {
            List<String> a = new ArrayList<>(cmd);
            a.addAll(List.of("--shard", shards.get(i)));
            r = MainTest.run(a.toArray(String[]::new));
            assertEquals(0, r.code(), shards.get(i) + ": " + r.err());
            Path part = Files.move(out, dir.resolve("part" + i + ".vcf.gz"));
            Files.delete(tbi);
            gather.addAll(List.of("--part", part.toString()));
        }
        r = MainTest.run(gather.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertEquals(records(single), records(dir.resolve("gathered.vcf.gz")));
        assertEquals(header(single), header(dir.resolve("gathered.vcf.gz")));
        assertArrayEquals(Files.readAllBytes(single), Files.readAllBytes(dir.resolve("gathered.vcf.gz")), "gathered VCF bytes");
        assertArrayEquals(Files.readAllBytes(singleTbi), Files.readAllBytes(dir.resolve("gathered.vcf.gz.tbi")), "rebuilt tabix index bytes");
        // for scripts/real-clients-check.sh: bcftools and tabix read the gathered file
        Path keep = Files.createDirectories(Path.of("target", "written-variants"));
        Files.copy(dir.resolve("gathered.vcf.gz"), keep.resolve("gathered.vcf.gz"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.copy(dir.resolve("gathered.vcf.gz.tbi"), keep.resolve("gathered.vcf.gz.tbi"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);

        // an unsorted VCF is refused at planning, as the unsplit run would refuse it
        List<Rec> back = new ArrayList<>(recs.subList(0, 3));
        back.add(recs.get(1));
        r = MainTest.run("scatter", "plan", "--vcf", vcf(dir, back).toString(), "--by", "contigs");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("(not sorted)"), r.err());
    }

    /** The model's identity as the header must name it, computed here: SHA-256 of config.json's bytes then model.safetensors'. */
    static String sha256(Path modelDir) throws java.io.IOException {
        java.security.MessageDigest d;
        try {
            d = java.security.MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        d.update(Files.readAllBytes(modelDir.resolve("config.json")));
        d.update(Files.readAllBytes(modelDir.resolve("model.safetensors")));
        return java.util.HexFormat.of().formatHex(d.digest());
    }

    /** A copy of the model's folder at {@code to}, optionally with the lowest bit of its last weight flipped (another model). */
    static Path copyModel(Path to, boolean changeAWeight) throws Exception {
        Files.createDirectories(to);
        try (var files = Files.list(model)) {
            for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
        }
        if (changeAWeight) {
            byte[] w = Files.readAllBytes(to.resolve("model.safetensors"));
            w[w.length - 4] ^= 1;   // little-endian float32: the last tensor's last value, lowest mantissa bit
            Files.write(to.resolve("model.safetensors"), w);
        }
        return to;
    }

    /**
     * Issue 18: a pipeline's tasks each see the model staged under their own work folder. The header
     * names it by folder name and content digest, so a staged copy writes the same bytes and the parts
     * of shards scored from differently staged copies gather into the unsplit run's file; a part scored
     * by another model (one weight bit apart) is refused with one line, and nothing is written.
     */
    @Test
    void theHeaderNamesTheModelByContentSoStagedCopiesGatherAndAnotherModelsPartIsRefused() throws Exception {
        List<Rec> recs = variants().stream().filter(x -> x.chrom().equals("chr1")).toList();
        Path in = vcf(dir, recs);
        Path staged1 = copyModel(dir.resolve("work/3f/a1b2/model"), false), staged2 = copyModel(dir.resolve("work/7c/d4e5/model"), false);
        Path other = copyModel(dir.resolve("work/9e/f0a1/model"), true);
        List<String> common = List.of("--fasta", SMALL.toString(), "--vcf", in.toString(), "--window", "32", "--threads", "2");
        Path single = dir.resolve("single.vcf.gz");
        java.util.function.BiFunction<Path, List<String>, MainTest.Result> score = (m, extra) -> {
            List<String> a = new ArrayList<>(List.of("dna", "score-variants", "--model", m.toString()));
            a.addAll(common);
            a.addAll(extra);
            return MainTest.run(a.toArray(String[]::new));
        };
        MainTest.Result r = score.apply(model, List.of("--out", single.toString()));
        assertEquals(0, r.code(), r.err());
        String line = "##ssmtk_score_variants=model=model;model_sha256=" + sha256(model) + ";window=32;rc_average=false;check_ref=e;scoring=causal";
        assertTrue(header(single).contains(line), String.join("\n", header(single)));
        Path copied = dir.resolve("copied.vcf.gz");
        r = score.apply(staged1, List.of("--out", copied.toString()));
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(Files.readAllBytes(single), Files.readAllBytes(copied), "a staged copy of the model writes the same bytes");

        Path p1 = dir.resolve("p1.vcf.gz"), p2 = dir.resolve("p2.vcf.gz"), p2other = dir.resolve("p2other.vcf.gz");
        assertEquals(0, score.apply(staged1, List.of("--out", p1.toString(), "--shard", "chr1:0-1000")).code());
        assertEquals(0, score.apply(staged2, List.of("--out", p2.toString(), "--shard", "chr1:1000-6000")).code());
        r = score.apply(other, List.of("--out", p2other.toString(), "--shard", "chr1:1000-6000"));
        assertEquals(0, r.code(), r.err());
        assertTrue(header(p2other).stream().anyMatch(l -> l.startsWith("##ssmtk_score_variants=model=model;model_sha256=") && !l.equals(line)));
        Path gathered = dir.resolve("gathered.vcf.gz");
        r = MainTest.run("gather", "vcf", "--output", gathered.toString(), "--part", p1.toString(), "--part", p2.toString());
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(Files.readAllBytes(single), Files.readAllBytes(gathered), "parts scored from two staged copies gather into the unsplit run's bytes");
        assertArrayEquals(Files.readAllBytes(Path.of(single + ".tbi")), Files.readAllBytes(Path.of(gathered + ".tbi")), "and its index");

        Path mixed = Files.createDirectories(dir.resolve("mixed")).resolve("mixed.vcf.gz");
        r = MainTest.run("gather", "vcf", "--output", mixed.toString(), "--part", p1.toString(), "--part", p2other.toString());
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--part " + p2other + " was scored by model 'model' (sha256 " + sha256(other).substring(0, 12))
                && r.err().contains("by model 'model' (sha256 " + sha256(model).substring(0, 12)) && r.err().contains("share one model"), r.err());
        assertNoOutput(mixed);
    }

    /**
     * Issue 18: a shard of a bgzipped VCF with a tabix index reads its region through the index (the
     * stderr line counts the records read: those overlapping the shard, not the file's), and writes
     * the bytes the streaming path writes for the same shard (the same VCF without its .tbi); the
     * parts gather into the unsplit run's file and index.
     */
    @Test
    void aShardOfAnIndexedVcfQueriesItsRegionAndWritesTheStreamedPartsBytes() throws Exception {
        List<Rec> recs = new ArrayList<>();
        for (String c : List.of("chr1", "chrM", "chr2")) for (Rec x : variants()) if (x.chrom().equals(c)) recs.add(x);
        // a bgzipped, tabix-indexed input: an unsplit run's output is one (its SSMTK lines are replaced on the way through)
        Path indexed = Files.createDirectories(dir.resolve("indexed")).resolve("in.vcf.gz");
        MainTest.Result r = scoreWith(vcf(dir, recs), indexed);
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.isRegularFile(Path.of(indexed + ".tbi")));
        Path streamed = Files.createDirectories(dir.resolve("streamed")).resolve("in.vcf.gz");
        Files.copy(indexed, streamed);
        Path single = dir.resolve("single.vcf.gz");
        r = scoreWith(indexed, single);
        assertEquals(0, r.code(), r.err());
        Path plan = dir.resolve("shards.txt");
        r = MainTest.run("scatter", "plan", "--vcf", indexed.toString(), "--by", "250", "--output", plan.toString());
        assertEquals(0, r.code(), r.err());
        List<String> shards = Files.readAllLines(plan);
        assertEquals(7, shards.size(), shards.toString());
        java.util.regex.Pattern readCount = java.util.regex.Pattern.compile("--shard \\S+: ([0-9,]+) records read (through|\\(the whole)");
        List<String> gather = new ArrayList<>(List.of("gather", "vcf", "--output", dir.resolve("gathered.vcf.gz").toString()));
        for (int i = 0; i < shards.size(); i++) {
            String shard = shards.get(i);
            Path a = dir.resolve("a" + i + ".vcf.gz"), b = dir.resolve("b" + i + ".vcf.gz");
            r = scoreWith(indexed, a, "--shard", shard);
            assertEquals(0, r.code(), r.err());
            java.util.regex.Matcher m = readCount.matcher(r.err());
            assertTrue(m.find() && m.group(2).equals("through"), shard + ": the indexed VCF's shard must be read through its .tbi: " + r.err());
            org.ssmtk.genomics.score.ScoreShard sh = org.ssmtk.genomics.score.ScoreShard.parse(shard);
            long overlapping = recs.stream().filter(x -> x.chrom().equals(sh.contig()) && x.pos() <= sh.end()
                    && end(x) >= sh.start() + 1).count();
            assertEquals(overlapping, Long.parseLong(m.group(1).replace(",", "")), shard + ": records read through the index");
            assertTrue(overlapping < recs.size());
            r = scoreWith(streamed, b, "--shard", shard);
            assertEquals(0, r.code(), r.err());
            m = readCount.matcher(r.err());
            assertTrue(m.find() && !m.group(2).equals("through") && Long.parseLong(m.group(1).replace(",", "")) == recs.size(), r.err());
            assertArrayEquals(Files.readAllBytes(b), Files.readAllBytes(a), shard + ": the indexed path writes the streamed part's bytes");
            Files.delete(Path.of(a + ".tbi"));
            gather.addAll(List.of("--part", a.toString()));
        }
        r = MainTest.run(gather.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        assertArrayEquals(Files.readAllBytes(single), Files.readAllBytes(dir.resolve("gathered.vcf.gz")), "gathered VCF bytes");
        assertArrayEquals(Files.readAllBytes(Path.of(single + ".tbi")), Files.readAllBytes(dir.resolve("gathered.vcf.gz.tbi")), "its index");

        // an index older than its VCF is not trusted: the shard streams, and says why
        Files.setLastModifiedTime(Path.of(indexed + ".tbi"), java.nio.file.attribute.FileTime.fromMillis(Files.getLastModifiedTime(indexed).toMillis() - 60_000));
        r = scoreWith(indexed, dir.resolve("stale.vcf.gz"), "--shard", shards.getFirst());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("is older than") && r.err().contains("the whole VCF streamed"), r.err());
        assertArrayEquals(Files.readAllBytes(dir.resolve("a0.vcf.gz")), Files.readAllBytes(dir.resolve("stale.vcf.gz")));
    }

    /** A record's last base as tabix indexes it: INFO END for a symbolic allele, else POS + len(REF) - 1. */
    static long end(Rec r) {
        for (String kv : r.info().split(";")) if (kv.startsWith("END=")) return Long.parseLong(kv.substring(4));
        return r.pos() + r.ref().length() - 1;
    }

    static final int MASK = 3;

    /** Caduceus' id of a base as its tokenizer numbers them (the fixtures' README): A=7 C=8 G=9 T=10 N=11. */
    static int caduceusId(char base) {
        return 7 + "ACGTN".indexOf(base);
    }

    /** The masked marginal of one substitution, written out: the window alone, REF's bases masked, log-softmax in double. */
    static double marginal(MambaModel m, String window, int offset, String ref, String alt) {
        int[] ids = new int[window.length()];
        for (int t = 0; t < ids.length; t++) ids[t] = caduceusId(window.charAt(t));
        for (int t = 0; t < ref.length(); t++) ids[offset + t] = MASK;
        float[] logits = m.forward(ids, 1, ids.length);
        int v = m.config().paddedVocabSize();
        double s = 0;
        for (int t = 0; t < ref.length(); t++) {
            int row = (offset + t) * v;
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int k = 0; k < v; k++) max = Math.max(max, logits[row + k]);
            for (int k = 0; k < v; k++) z += Math.exp(logits[row + k] - max);
            s += (logits[row + caduceusId(alt.charAt(t))] - max - Math.log(z)) - (logits[row + caduceusId(ref.charAt(t))] - max - Math.log(z));
        }
        return s;
    }

    /** What a masked model's record must get: the marginal in the REF window (and its reverse complement's, averaged), NaN where missing. */
    static double[] expectedMasked(MambaModel m, Rec r, int w, boolean rc) {
        if (r.alts().equals(".")) return new double[0];
        String seq = contigs.get(r.chrom());
        long pos0 = r.pos() - 1, start = Math.max(0, pos0 - w / 2), end = Math.min(seq.length(), start + w);
        start = Math.max(0, end - w);
        String window = seq.substring((int) start, (int) end);
        int offset = (int) (pos0 - start);
        String[] alts = r.alts().split(",");
        double[] out = new double[alts.length];
        for (int i = 0; i < alts.length; i++) {
            if (reason(r, alts[i], w, true) != null) {
                out[i] = Double.NaN;
                continue;
            }
            out[i] = marginal(m, window, offset, r.ref(), alts[i]);
            if (rc) // the same bases on the other strand: mirrored span, reverse-complemented REF and ALT
                out[i] = 0.5 * (out[i] + marginal(m, reverseComplement(window), window.length() - offset - r.ref().length(),
                        reverseComplement(r.ref()), reverseComplement(alts[i])));
        }
        return out;
    }

    /**
     * A Caduceus (the parity fixtures' random-weight models: PS with add, Ph with ew_multiply) gets the
     * masked marginal at every substitution, recomputed here one window at a time; indels and symbolic
     * ALTs are missing with their reason; bcftools reads the file.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"caduceus-ps-add", "caduceus-ph-ewm"})
    void aCaduceusModelGetsMaskedMarginalsRecomputedFromForwardLogits(String name) throws Exception {
        Path cad = Path.of("..", "test-data", "fixtures", name).toAbsolutePath().normalize();
        List<Rec> recs = variants();
        Path in = vcf(dir, recs);
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, MambaCheckpoint.load(cad));
            boolean ps = m.strands() == 2;
            double[] plain = null;
            for (boolean rc : new boolean[]{false, true}) {
                Path out = dir.resolve(name + (rc ? "-rc" : "") + ".vcf.gz");
                List<String> args = new ArrayList<>(List.of("dna", "score-variants", "--model", cad.toString(), "--fasta", SMALL.toString(),
                        "--vcf", in.toString(), "--out", out.toString(), "--window", Integer.toString(W), "--batch", "3", "--threads", "2"));
                if (rc) args.add("--rc-average");
                MainTest.Result r = MainTest.run(args.toArray(String[]::new));
                assertEquals(0, r.code(), r.err());
                assertTrue(r.err().contains("indels, which masked marginals do not score") && r.err().contains("variants/s"), r.err());
                assertEquals(rc && ps, r.err().contains("Caduceus-PS head sums both strands"), r.err());
                List<String> head = header(out);
                String digest = sha256(cad);
                assertTrue(head.stream().anyMatch(l -> l.equals("##ssmtk_score_variants=model=" + cad.getFileName() + ";model_sha256=" + digest + ";window=" + W + ";rc_average=" + rc
                        + ";check_ref=e;scoring=masked-marginal")), String.join("\n", head));
                assertTrue(head.stream().anyMatch(l -> l.startsWith("##INFO=<ID=SSMTK_MISSING,Number=A,Type=String")), String.join("\n", head));
                List<String> got = records(out);
                double worst = check(recs, got, rec -> expectedMasked(m, rec, W, rc && !ps), W, true);
                System.out.printf("score-variants %s%s: largest |masked marginal - recomputed| %.3g%n", name, rc ? " --rc-average" : "", worst);
                // the MNV at chr1:200 and the SNVs have numbers; the deletion at chr1:400 says why it has none
                String del = got.stream().filter(l -> l.startsWith("chr1	400	")).findFirst().orElseThrow();
                assertTrue(del.contains("SSMTK_LLR=.") && del.contains("SSMTK_MISSING=indel"), del);
                String multi = got.stream().filter(l -> l.startsWith("chr1	500	")).findFirst().orElseThrow();
                assertTrue(multi.contains("SSMTK_MISSING=.,.,indel"), multi);
                if (ps) { // both strands are in every PS score: averaging with the reverse complement gives the same numbers
                    double[] values = recs.stream().flatMap(rec -> java.util.Arrays.stream(expectedMasked(m, rec, W, true)).boxed())
                            .mapToDouble(Double::doubleValue).toArray();
                    if (plain == null) plain = recs.stream().flatMap(rec -> java.util.Arrays.stream(expectedMasked(m, rec, W, false)).boxed())
                            .mapToDouble(Double::doubleValue).toArray();
                    for (int i = 0; i < values.length; i++)
                        if (!Double.isNaN(values[i])) assertEquals(plain[i], values[i], 1e-5 + 1e-5 * Math.abs(values[i]), "PS strand symmetry, value " + i);
                } else if (rc) { // for Ph the other strand is new information
                    double fwd = expectedMasked(m, recs.get(1), W, false)[0], avg = expectedMasked(m, recs.get(1), W, true)[0];
                    assertTrue(Math.abs(fwd - avg) > 1e-4, fwd + " vs " + avg);
                }
                if (onPath("bcftools")) {
                    assertEquals(got, exec("bcftools", "view", "-H", out.toString()).out().lines().toList(), "bcftools view reads every record");
                    Proc q = exec("bcftools", "query", "-f", "%POS\t%INFO/SSMTK_LLR\t%INFO/SSMTK_MISSING\n", "-r", "chr1:400", out.toString());
                    assertEquals("400	.	indel", q.out().strip());
                }
            }
        }
    }

    @Test
    void reverseComplementAveragingIsRecomputedToo() throws Exception {
        List<Rec> recs = variants().subList(0, 8);
        Path out = dir.resolve("rc.vcf.gz");
        MainTest.Result r = MainTest.run("dna", "score-variants", "--model", model.toString(), "--fasta", DnaCommandsTest.DATA.resolve("small.bgzf.fa.gz").toString(),
                "--vcf", vcf(dir, recs).toString(), "--out", out.toString(), "--window", "48", "--rc-average", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, MambaCheckpoint.load(model));
            check(m, recs, records(out), 48, true);
            // and it is not the forward strand alone
            double fwd = expected(m, recs.get(1), 48, false)[0], avg = expected(m, recs.get(1), 48, true)[0];
            assertTrue(Math.abs(fwd - avg) > 1e-3, fwd + " vs " + avg);
        }
    }

    private MainTest.Result scoreWith(Path in, Path out, String... extra) {
        List<String> args = new ArrayList<>(List.of("dna", "score-variants", "--model", model.toString(), "--fasta", SMALL.toString(),
                "--vcf", in.toString(), "--out", out.toString(), "--window", "32", "--threads", "2"));
        args.addAll(Arrays.asList(extra));
        return MainTest.run(args.toArray(String[]::new));
    }

    private void assertNoOutput(Path out) throws Exception {
        assertFalse(Files.exists(out), out + " must not exist");
        assertFalse(Files.exists(out.resolveSibling(out.getFileName() + ".tbi")), "no index either");
        try (var files = Files.list(out.getParent())) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(".")), "no temporary files");
        }
    }

    @Test
    void checkRefErrorsWarnsOrExcludesAsBcftoolsNormDoes() throws Exception {
        String wrong = other("chr1", 100, 1);
        List<Rec> recs = List.of(Rec.of("chr1", 50, ref("chr1", 50, 1), other("chr1", 50, 1)),
                Rec.of("chr1", 100, wrong, ref("chr1", 100, 1)),                       // REF contradicts the FASTA
                Rec.of("chr1", 5999, ref("chr1", 5999, 2) + "A", ref("chr1", 5999, 1)), // REF runs off the contig's end
                Rec.of("chr2", 10, ref("chr2", 10, 1).toLowerCase(), other("chr2", 10, 1))); // lower case matches
        Path in = vcf(dir, recs);
        Path out = dir.resolve("e.vcf.gz");
        MainTest.Result r = scoreWith(in, out);
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("chr1:100: REF " + wrong) && r.err().contains(in.toString()) && r.err().contains("small.fa"), r.err());
        assertNoOutput(out);

        Path warned = dir.resolve("w.vcf.gz");
        r = scoreWith(in, warned, "--check-ref", "w");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: ") && r.err().contains("chr1:100") && r.err().contains("chr1:5999"), r.err());
        List<String> got = records(warned);
        assertEquals(4, got.size());
        assertTrue(got.get(1).contains("SSMTK_LLR=.") && got.get(2).contains("SSMTK_LLR=."), String.join("\n", got));
        assertTrue(got.get(1).contains("SSMTK_MISSING=ref_mismatch") && got.get(2).contains("SSMTK_MISSING=ref_mismatch"), String.join("\n", got));
        assertFalse(got.get(0).contains("SSMTK_MISSING"), got.get(0));
        assertTrue(got.get(0).matches(".*SSMTK_LLR=-?[0-9].*") && got.get(3).matches(".*SSMTK_LLR=-?[0-9].*"), String.join("\n", got));

        Path excluded = dir.resolve("x.vcf.gz");
        r = scoreWith(in, excluded, "--check-ref", "x");
        assertEquals(0, r.code(), r.err());
        got = records(excluded);
        assertEquals(List.of("chr1\t50", "chr2\t10"), got.stream().map(l -> l.substring(0, l.indexOf('\t', 5))).toList());
        assertTrue(r.err().contains("2 excluded"), r.err());

        r = scoreWith(in, dir.resolve("bad.vcf.gz"), "--check-ref", "s");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--check-ref"), r.err());
    }

    @Test
    void aContigMissingFromTheFastaOrAnUnsortedVcfIsOneErrorLineAndNoOutput() throws Exception {
        List<Rec> recs = List.of(Rec.of("chr1", 50, ref("chr1", 50, 1), other("chr1", 50, 1)), Rec.of("chrX", 10, "A", "C"));
        Path in = vcf(dir, recs);
        Path out = dir.resolve("o.vcf.gz");
        MainTest.Result r = scoreWith(in, out);
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("chrX:10") && r.err().contains("'chrX' is not in") && r.err().contains("small.fa"), r.err());
        assertNoOutput(out);

        recs = List.of(Rec.of("chr1", 50, ref("chr1", 50, 1), other("chr1", 50, 1)), Rec.of("chr2", 10, ref("chr2", 10, 1), other("chr2", 10, 1)),
                Rec.of("chr1", 60, ref("chr1", 60, 1), other("chr1", 60, 1)));
        r = scoreWith(vcf(dir, recs), out);
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("chr1:60: not sorted") && r.err().contains("bcftools sort"), r.err());
        assertNoOutput(out);

        r = scoreWith(in, dir.resolve("o.vcf"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("must end in .vcf.gz"), r.err());
        Path notVcf = Files.writeString(dir.resolve("junk.vcf"), "hello\n");
        r = scoreWith(notVcf, out);
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(notVcf.toString()), r.err());
        assertNoOutput(out);
    }

    /**
     * bcftools (htslib's own reader) reads the output: every record, the LLRs as written, and a
     * region query through the tabix index. CI installs bcftools (.ci/run); elsewhere the test
     * skips, saying why.
     */
    @Test
    void bcftoolsViewAndQueryReadTheOutput() throws Exception {
        boolean present = onPath("bcftools");
        if (!present && System.getenv("CI") != null) throw new AssertionError("CI=true but no bcftools on PATH (.ci/run installs it)");
        Assumptions.assumeTrue(present, "no bcftools on PATH: install it (apt-get install bcftools tabix) to check the output with htslib");
        List<Rec> recs = variants();
        Path out = dir.resolve("b.vcf.gz");
        MainTest.Result r = MainTest.run("dna", "score-variants", "--model", model.toString(), "--fasta", SMALL.toString(), "--vcf", vcf(dir, recs).toString(),
                "--out", out.toString(), "--window", Integer.toString(W), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<String> ours = new ArrayList<>();
        for (String line : records(out)) {
            String[] f = line.split("\t");
            List<String> llr = new ArrayList<>();
            info(f[7], llr);
            ours.add(f[0] + "\t" + f[1] + "\t" + f[3] + "\t" + f[4] + "\t" + (llr.isEmpty() ? "." : llr.getFirst()));
        }
        Proc view = exec("bcftools", "view", "-H", out.toString());
        assertEquals(records(out), view.out().lines().toList(), "bcftools view gives back every record as written");
        Proc query = exec("bcftools", "query", "-f", "%CHROM\\t%POS\\t%REF\\t%ALT\\t%INFO/SSMTK_LLR\\n", out.toString());
        assertEquals(ours, query.out().lines().toList());
        Proc region = exec("bcftools", "view", "-H", "-r", "chr1:250-450", out.toString());
        assertEquals(List.of("300", "400"), region.out().lines().map(l -> l.split("\t")[1]).toList(), "a region query through the .tbi");
        Proc head = exec("bcftools", "view", "-h", out.toString());
        assertTrue(head.out().contains("##INFO=<ID=SSMTK_LLR,Number=A,Type=Float"), head.out());
        for (Proc p : List.of(view, query, region, head)) assertFalse(p.err().contains("[W::") || p.err().contains("[E::"), p.err());
        System.out.println("bcftools query on an ssmtk-written VCF:\n" + query.out());
    }

    record Proc(String out, String err) {}

    static Proc exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        int code = p.waitFor();
        String e = new String(err, StandardCharsets.UTF_8);
        assertEquals(0, code, String.join(" ", cmd) + ": " + e);
        return new Proc(new String(out, StandardCharsets.UTF_8), e);
    }

    static boolean onPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
            if (Files.isExecutable(Path.of(d, exe))) return true;
        return false;
    }

    @Test
    void helpNamesTheRule() {
        MainTest.Result r = MainTest.run("dna", "score-variants", "--help");
        assertEquals(0, r.code());
        assertNotNull(r.out());
        assertTrue(r.out().contains("start = max(0, pos0 - W/2)") && r.out().contains("--check-ref"), r.out());
    }
}
