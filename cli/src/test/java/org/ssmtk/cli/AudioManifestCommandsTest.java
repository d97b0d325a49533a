package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Manifest inputs, mfcc-baseline, score, plot and generate --plot in-process, on the committed
 * spoken-digit subset (test-data/audio/digits: one training voice, one unseen test voice).
 */
class AudioManifestCommandsTest {
    static final Path DIGITS = AudioCommandsTest.DATA.resolve("digits");
    static final Path TRAIN = DIGITS.resolve("train.tsv"), TEST = DIGITS.resolve("test.tsv");
    @TempDir
    Path dir;

    static JsonNode json(Path p) throws Exception {
        return new ObjectMapper().readTree(p.toFile());
    }

    @Test
    void classifierFromManifestsScoresTheTestVoiceAndClassifyAgrees() throws Exception {
        Path out = dir.resolve("cls");
        MainTest.Result r = MainTest.run("audio", "train-classifier", "--manifest", TRAIN.toString(), "--test-manifest", TEST.toString(),
                "--out", out.toString(), "--sample-rate", "2000", "--d-model", "16", "--layers", "1", "--seq-len", "500", "--batch", "4",
                "--steps", "3", "--checkpoint-every", "0", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("10 classes (zero, one, two"), r.err());
        assertTrue(r.out().contains("held-out accuracy") && r.out().contains("(10 test clips)"), r.out());
        JsonNode eval = json(out.resolve("eval.json"));
        assertEquals(10, eval.get("examples").asInt(), eval.toString());
        assertEquals(10, eval.get("confusion_matrix").get("counts").size());
        double f1 = eval.get("macro_f1").asDouble();
        // accuracy and macro-F1 recomputed from the confusion matrix written beside them (scikit-learn's
        // definition: F1 = 2TP / (2TP + FP + FN) over the classes that occur as truth or prediction)
        JsonNode counts = eval.get("confusion_matrix").get("counts");
        long total = 0, right = 0;
        double f1Sum = 0;
        int occurring = 0;
        for (int c = 0; c < counts.size(); c++) {
            long tp = counts.get(c).get(c).asLong(), fn = -tp, fp = -tp;
            for (int j = 0; j < counts.size(); j++) {
                fn += counts.get(c).get(j).asLong();
                fp += counts.get(j).get(c).asLong();
                total += counts.get(c).get(j).asLong();
            }
            right += tp;
            if (tp + fn + fp == 0) continue;
            occurring++;
            f1Sum += 2.0 * tp / (2.0 * tp + fp + fn);
        }
        assertEquals(10, total);
        assertEquals((double) right / total, eval.get("accuracy").asDouble(), 1e-12, eval.toString());
        assertEquals(f1Sum / occurring, f1, 1e-12, eval.toString());

        // classify on the same clips at the training length gives the same probabilities, hence the same accuracy
        Path tsv = dir.resolve("calls.tsv"), metrics = dir.resolve("m.json");
        r = MainTest.run("audio", "classify", "--model", out.resolve("model").toString(), "--manifest", TEST.toString(), "--output", tsv.toString(),
                "--metrics", metrics.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(tsv);
        assertEquals(11, lines.size());
        assertTrue(lines.get(1).startsWith(DIGITS.resolve("wav/test/zero-en-us-john.wav") + "\t"), lines.get(1));
        assertEquals(eval.get("accuracy").asDouble(), json(metrics).get("accuracy").asDouble(), 1e-12);
        assertEquals(f1, json(metrics).get("macro_f1").asDouble(), 1e-12);
        assertEquals(json(metrics).get("confusion_matrix"), eval.get("confusion_matrix"));

        r = MainTest.run("audio", "classify", "--model", out.resolve("model").toString(), "--input", DIGITS.resolve("wav/test").toString(),
                "--output", dir.resolve("x.tsv").toString(), "--metrics", dir.resolve("x.json").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--metrics needs a labelled --manifest"), r.err());
        assertFalse(Files.exists(dir.resolve("x.tsv")));
    }

    @Test
    void manifestProblemsNameFileAndLineAndWriteNothing() throws Exception {
        Path m = dir.resolve("bad.tsv");
        Files.writeString(m, "path\tlabel\n" + DIGITS.resolve("wav/train/zero-en-us-ed.wav") + "\tzero\n" + dir.resolve("nope.wav") + "\tone\n");
        Path out = dir.resolve("run");
        MainTest.Result r = MainTest.run("audio", "train-classifier", "--manifest", m.toString(), "--out", out.toString(), "--steps", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().contains(m + ":3: no such file"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(out));

        Files.writeString(m, DIGITS.resolve("wav/test/zero-en-us-john.wav") + "\tzero\n" + DIGITS.resolve("wav/test/one-en-us-john.wav") + "\tuno\n");
        r = MainTest.run("audio", "train-classifier", "--manifest", TRAIN.toString(), "--test-manifest", m.toString(), "--out", out.toString(),
                "--steps", "1", "--sample-rate", "2000", "--seq-len", "100");
        assertEquals(1, r.code());
        assertTrue(r.err().contains(m + ":2: label 'uno' is not one of the training classes"), r.err());
        assertFalse(Files.exists(out));

        r = MainTest.run("audio", "train-lm", "--manifest", TRAIN.toString(), "--input", DIGITS.toString(), "--out", out.toString(), "--steps", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("exactly one of --input and --manifest"), r.err());

        Files.writeString(m, DIGITS.resolve("wav/test/zero-en-us-john.wav") + "\tzero\t0.5\t2\n");
        r = MainTest.run("audio", "mfcc-baseline", "--manifest", TRAIN.toString(), "--test-manifest", m.toString(), "--out", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains(m + ":1: end 2.0 s is past the end of"), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void mfccBaselineFitsItsTrainingVoiceAndScoresTheTestVoice() throws Exception {
        Path out = dir.resolve("mfcc");
        MainTest.Result r = MainTest.run("audio", "mfcc-baseline", "--manifest", TRAIN.toString(), "--test-manifest", TRAIN.toString(),
                "--out", out.toString(), "--sample-rate", "8000");
        assertEquals(0, r.code(), r.err());
        // 10 clips, 40 features: the training clips themselves are separable
        assertEquals(1.0, json(out.resolve("eval.json")).get("accuracy").asDouble(), r.out());

        Path test = dir.resolve("mfcc-test");
        r = MainTest.run("audio", "mfcc-baseline", "--manifest", TRAIN.toString(), "--test-manifest", TEST.toString(), "--out", test.toString(),
                "--sample-rate", "8000");
        assertEquals(0, r.code(), r.err());
        JsonNode eval = json(test.resolve("eval.json"));
        assertEquals(10, eval.get("examples").asInt());
        assertEquals(40, eval.get("features").asInt());
        List<String> pred = Files.readAllLines(test.resolve("predictions.tsv"));
        assertEquals(11, pred.size());
        assertTrue(pred.get(0).startsWith("path\ttruth\tlabel\tp_zero\tp_one"), pred.get(0));
        long right = pred.stream().skip(1).map(l -> l.split("\t")).filter(f -> f[1].equals(f[2])).count();
        assertEquals(eval.get("accuracy").asDouble(), right / 10.0, 1e-12);
    }

    /**
     * Issue 18: audio score scattered by manifest rows. ssmtk scatter plan --clips lists the row ranges,
     * each shard runs the unsplit command plus --shard, and ssmtk gather tsv joins the per-clip and
     * per-frame tables into the unsplit run's, byte for byte.
     */
    @Test
    void scoreShardsOfManifestRowsGatherToTheUnsplitTables() throws Exception {
        Path lm = dir.resolve("lm");
        MainTest.Result r = MainTest.run("audio", "train-lm", "--manifest", TRAIN.toString(), "--out", lm.toString(), "--sample-rate", "2000",
                "--d-model", "16", "--layers", "1", "--seq-len", "300", "--batch", "4", "--steps", "2", "--eval-windows", "1",
                "--checkpoint-every", "0", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        Path out = Files.createDirectories(dir.resolve("out")), clips = out.resolve("clips.tsv"), frames = out.resolve("frames.tsv");
        List<String> cmd = List.of("audio", "score", "--model", lm.resolve("model").toString(), "--manifest", TEST.toString(),
                "--output", clips.toString(), "--frames", frames.toString(), "--frame-ms", "100", "--chunk", "128", "--threads", "2");
        r = MainTest.run(cmd.toArray(String[]::new));
        assertEquals(0, r.code(), r.err());
        Path singleClips = Files.move(clips, dir.resolve("single-clips.tsv")), singleFrames = Files.move(frames, dir.resolve("single-frames.tsv"));
        r = MainTest.run("scatter", "plan", "--clips", TEST.toString(), "--by", "4", "--output", dir.resolve("shards.txt").toString());
        assertEquals(0, r.code(), r.err());
        List<String> shards = Files.readAllLines(dir.resolve("shards.txt"));
        assertEquals(List.of("0-4", "4-8", "8-10"), shards, "10 test clips, 4 a shard");
        List<String> gc = new ArrayList<>(List.of("gather", "tsv", "--output", dir.resolve("clips.tsv").toString()));
        List<String> gf = new ArrayList<>(List.of("gather", "tsv", "--output", dir.resolve("frames.tsv").toString()));
        for (int i = 0; i < shards.size(); i++) {
            List<String> a = new ArrayList<>(cmd);
            a.addAll(List.of("--shard", shards.get(i)));
            r = MainTest.run(a.toArray(String[]::new));
            assertEquals(0, r.code(), shards.get(i) + ": " + r.err());
            gc.addAll(List.of("--part", Files.move(clips, dir.resolve("c" + i + ".tsv")).toString()));
            gf.addAll(List.of("--part", Files.move(frames, dir.resolve("f" + i + ".tsv")).toString()));
        }
        assertEquals(0, MainTest.run(gc.toArray(String[]::new)).code());
        assertEquals(0, MainTest.run(gf.toArray(String[]::new)).code());
        assertEquals(11, Files.readAllLines(singleClips).size());
        assertArrayEquals(Files.readAllBytes(singleClips), Files.readAllBytes(dir.resolve("clips.tsv")), "per-clip table");
        assertArrayEquals(Files.readAllBytes(singleFrames), Files.readAllBytes(dir.resolve("frames.tsv")), "per-frame table");
        // a shard past the list, and --plot (which needs every clip), are refused
        List<String> a = new ArrayList<>(cmd);
        a.addAll(List.of("--shard", "8-11"));
        r = MainTest.run(a.toArray(String[]::new));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("has 10 clips"), r.err());
        a = new ArrayList<>(cmd);
        a.addAll(List.of("--shard", "0-4", "--plot", dir.resolve("p.png").toString()));
        assertEquals(1, MainTest.run(a.toArray(String[]::new)).code());
    }

    @Test
    void scoreReproducesTrainLmsHeldOutNumberAndItsFramesAddUp() throws Exception {
        Path lm = dir.resolve("lm");
        MainTest.Result r = MainTest.run("audio", "train-lm", "--manifest", TRAIN.toString(), "--test-manifest", TEST.toString(), "--out", lm.toString(),
                "--sample-rate", "2000", "--d-model", "16", "--layers", "1", "--seq-len", "300", "--batch", "4", "--steps", "3",
                "--eval-windows", "1000", "--checkpoint-every", "0", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        JsonNode eval = json(lm.resolve("eval.json"));
        double bps = eval.get("bits_per_sample").asDouble();
        double uni = eval.get("unigram_bits_per_sample").asDouble(), bi = eval.get("bigram_bits_per_sample").asDouble();
        assertTrue(uni > 0 && uni < 8 && bi > 0 && bi < uni, eval.toString());

        Path clips = dir.resolve("clips.tsv"), frames = dir.resolve("frames.tsv"), png = dir.resolve("nll.png");
        r = MainTest.run("audio", "score", "--model", lm.resolve("model").toString(), "--manifest", TEST.toString(), "--output", clips.toString(),
                "--frames", frames.toString(), "--frame-ms", "50", "--context", "300", "--chunk", "128", "--plot", png.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<String> c = Files.readAllLines(clips);
        assertEquals("id\tsamples\tseconds\tscored\tbits_per_sample", c.get(0));
        assertEquals(11, c.size());
        double sum = 0;
        long n = 0;
        for (String l : c.subList(1, c.size())) {
            String[] f = l.split("\t");
            assertEquals(2000, Integer.parseInt(f[1]));
            assertEquals(2000 - 7, Integer.parseInt(f[3]), "one unscored sample per 300-sample piece: 7 pieces");
            sum += Double.parseDouble(f[4]) * Integer.parseInt(f[3]);
            n += Integer.parseInt(f[3]);
        }
        assertEquals(eval.get("samples").asLong(), n);
        assertEquals(bps, sum / n, 1e-4, "score --context = train-lm's --seq-len gives its held-out bits per sample");

        List<String> fr = Files.readAllLines(frames);
        assertEquals(1 + 10 * 20, fr.size(), "1 s clips in 50 ms frames");
        double first = 0;
        long firstN = 0;
        for (String l : fr.subList(1, 21)) {
            String[] f = l.split("\t");
            first += Double.parseDouble(f[5]) * Integer.parseInt(f[4]);
            firstN += Integer.parseInt(f[4]);
        }
        String[] clip0 = c.get(1).split("\t");
        assertEquals(Integer.parseInt(clip0[3]), firstN);
        assertEquals(Double.parseDouble(clip0[4]), first / firstN, 1e-5, "frames average to their clip");
        assertTrue(ImageIO.read(png.toFile()).getWidth() > 100);

        // the whole clip as context: another number, and chunking does not change it
        Path a = dir.resolve("a.tsv"), b = dir.resolve("b.tsv");
        assertEquals(0, MainTest.run("audio", "score", "--model", lm.resolve("model").toString(), "--manifest", TEST.toString(), "--output", a.toString()).code());
        assertEquals(0, MainTest.run("audio", "score", "--model", lm.resolve("model").toString(), "--manifest", TEST.toString(), "--output", b.toString(),
                "--chunk", "77").code());
        List<String> la = Files.readAllLines(a), lb = Files.readAllLines(b);
        for (int i = 1; i < la.size(); i++) {
            String[] x = la.get(i).split("\t"), y = lb.get(i).split("\t");
            assertEquals(1999, Integer.parseInt(x[3]));
            assertEquals(Double.parseDouble(x[4]), Double.parseDouble(y[4]), 1e-5);
        }

        Path gen = dir.resolve("gen.wav");
        r = MainTest.run("audio", "generate", "--model", lm.resolve("model").toString(), "--seconds", "0.2", "--output", gen.toString(), "--plot");
        assertEquals(0, r.code(), r.err());
        assertTrue(ImageIO.read(dir.resolve("gen.waveform.png").toFile()).getWidth() > 100);
        assertTrue(ImageIO.read(dir.resolve("gen.spectrogram.png").toFile()).getWidth() > 100);
    }

    @Test
    void plotDrawsAWaveformAndASpectrogramPerClip() throws Exception {
        Path out = dir.resolve("pics");
        MainTest.Result r = MainTest.run("audio", "plot", "--input", DIGITS.resolve("wav/test").toString(), "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("10 clips, 20 PNGs"), r.out());
        var img = ImageIO.read(out.resolve("seven-en-us-john.spectrogram.png").toFile());
        assertTrue(img.getWidth() >= 800 && img.getHeight() > 300);
        assertTrue(ImageIO.read(out.resolve("seven-en-us-john.waveform.png").toFile()).getWidth() > 100);
    }
}
