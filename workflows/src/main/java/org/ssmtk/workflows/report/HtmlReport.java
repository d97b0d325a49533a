package org.ssmtk.workflows.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.ssmtk.audio.io.WavReader;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.eval.ClassificationMetrics;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * One self-contained HTML page (charts inlined as base64 PNG, no external file or script) over what a
 * run wrote: the workflow's step table (run.json), training curves (metrics.jsonl), held-out
 * evaluations (eval.json: scalars, per-class table, confusion matrix), ROC curves from calls on
 * sequences of known class, classification call summaries (TSV), held-out bits against training
 * context (scripts/audio-long-context.sh's long-context.tsv), score tracks (bedGraph), generated
 * audio's scores (audio score-generation JSON: IS, mIS, Fréchet distance) and spectrograms (WAV; the
 * clip itself too, playable, up to 1 MiB). Beside it, MultiQC custom-content files: {@code STEM_mqc.json} (a table of every
 * run's headline numbers) and {@code STEM_loss_mqc.json} (the training curves as a line graph).
 */
public final class HtmlReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final int MAX_DEPTH = 4;

    private final String title;
    private final StringBuilder body = new StringBuilder();
    private final Map<String, Map<String, Object>> headline = new TreeMap<>();
    private final Map<String, Map<String, Double>> curves = new TreeMap<>();
    private int charts, sections;

    private HtmlReport(String title) {
        this.title = title;
    }

    /** What the report found, for the caller's summary line. */
    public record Summary(int sections, int charts) {}

    /**
     * Writes {@code output} and the MultiQC files beside it. {@code inputs} are files or folders
     * (searched {@value MAX_DEPTH} levels deep); {@code truth} maps a class name to a calls TSV of
     * sequences that all belong to it (ROC curves for two-class models).
     */
    public static Summary write(String title, List<Path> inputs, Map<String, List<Path>> truth, Path output, String version) throws IOException {
        HtmlReport r = new HtmlReport(title);
        for (Path in : inputs) if (!Files.exists(in)) throw new IOException(in + ": no such file or folder");
        for (List<Path> l : truth.values()) for (Path p : l) if (!Files.isRegularFile(p)) throw new IOException(p + ": no such file (a --truth calls TSV)");
        List<Path[]> files = new ArrayList<>(); // {root, file}
        for (Path in : inputs) {
            if (Files.isRegularFile(in)) files.add(new Path[]{in, in}); // a file given alone is named by its folder and itself
            else try (Stream<Path> w = Files.walk(in, MAX_DEPTH, java.nio.file.FileVisitOption.FOLLOW_LINKS)) { // Nextflow stages inputs as links
                for (Path f : w.filter(Files::isRegularFile).sorted().toList()) files.add(new Path[]{in, f});
            }
        }
        // A report written inside a workflow (or over its outputs) shows that workflow's step table even
        // when run.json is not among its inputs: the runner writes it before each step starts.
        java.util.Set<Path> logs = new java.util.LinkedHashSet<>();
        for (Path[] rf : files) {
            StepHome h = r.home(rf[1].toAbsolutePath().normalize().getParent());
            if (h != null) logs.add(h.work().resolve(RUN_LOG));
        }
        for (Path[] rf : files) if (rf[1].getFileName().toString().equals(RUN_LOG)) logs.add(rf[1].toAbsolutePath().normalize());
        for (Path log : logs) r.runLog(log);
        for (Path[] rf : files) if (rf[1].getFileName().toString().equals("metrics.jsonl")) r.metrics(r.label(rf), rf[1]);
        for (Path[] rf : files) if (rf[1].getFileName().toString().equals("eval.json")) r.eval(r.label(rf), rf[1]);
        for (Path[] rf : files) if (isGenerationScores(rf[1])) r.generation(r.fileLabel(rf), rf[1]);
        if (!truth.isEmpty()) r.roc(truth);
        for (Path[] rf : files) if (rf[1].getFileName().toString().endsWith(".tsv")) r.calls(r.fileLabel(rf), rf[1]);
        for (Path[] rf : files) if (rf[1].getFileName().toString().endsWith(".tsv")) r.longContext(r.fileLabel(rf), rf[1]);
        for (Path[] rf : files) if (rf[1].getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".bedgraph")) r.bedGraph(r.fileLabel(rf), rf[1]);
        for (Path[] rf : files) if (rf[1].getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".wav")) r.spectrogram(r.fileLabel(rf), rf[1]);
        if (r.sections == 0)
            throw new IOException("nothing to report under " + inputs + " (looked for run.json, metrics.jsonl, eval.json, generation scores .json, calls .tsv, long-context .tsv, .bedGraph, .wav)");

        String html = r.page(version);
        String stem = output.getFileName().toString().replaceFirst("\\.html?$", "");
        Path dir = output.toAbsolutePath().getParent();
        AtomicFiles.write(output, o -> o.write(html.getBytes(StandardCharsets.UTF_8)));
        AtomicFiles.write(dir.resolve(stem + "_mqc.json"), o -> o.write(JSON.writeValueAsBytes(r.mqcTable())));
        if (!r.curves.isEmpty()) AtomicFiles.write(dir.resolve(stem + "_loss_mqc.json"), o -> o.write(JSON.writeValueAsBytes(r.mqcCurves())));
        return new Summary(r.sections, r.charts);
    }

    /** The workflow folder (holding run.json) and the id of the step that wrote into {@code dir}, or null. */
    record StepHome(Path work, String step) {}

    private static final String RUN_LOG = "run.json";
    private final Map<Path, java.util.Set<String>> stepsOfLog = new java.util.HashMap<>();

    /**
     * The step a folder belongs to when it lies in a workflow's WORK/ID (WORK holding the runner's
     * run.json that lists ID): inside a workflow every step's output folder is named by its params
     * ("run", "out"), so the step id is what tells the sections apart.
     */
    StepHome home(Path dir) throws IOException {
        Path d = dir;
        for (int up = 0; d != null && d.getParent() != null && up < 8; up++, d = d.getParent()) {
            Path work = d.getParent(), log = work.resolve(RUN_LOG);
            if (!Files.isRegularFile(log)) continue;
            java.util.Set<String> steps = stepsOfLog.get(log);
            if (steps == null) {
                steps = new java.util.HashSet<>();
                try {
                    for (JsonNode s : JSON.readTree(log.toFile()).path("steps")) steps.add(s.path("step").asText());
                } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                    // not the runner's log: no step names from it
                }
                stepsOfLog.put(log, steps);
            }
            if (steps.contains(d.getFileName().toString())) return new StepHome(work, d.getFileName().toString());
        }
        return null;
    }

    /**
     * The folder a file is in, relative to the input it was found under (the input's own name first);
     * inside a workflow, the step's id and the folder below it.
     */
    private String label(Path[] rf) throws IOException {
        Path parent = rf[1].toAbsolutePath().normalize().getParent();
        StepHome h = home(parent);
        if (h != null) {
            Path stepDir = h.work().resolve(h.step()), root = rf[0].toAbsolutePath().normalize();
            Path base = rf[0] != rf[1] && root.startsWith(stepDir) ? root : stepDir;
            String rel = base.relativize(parent).toString();
            return rel.isEmpty() ? h.step() : h.step() + "/" + rel;
        }
        if (rf[0] == rf[1]) return rf[1].toAbsolutePath().getParent().getFileName().toString();
        Path folder = rf[1].toAbsolutePath().getParent(), root = rf[0].toAbsolutePath();
        String rel = root.relativize(folder).toString();
        String base = root.getFileName() == null ? "" : root.getFileName().toString();
        return rel.isEmpty() ? base : base + "/" + rel;
    }

    private String fileLabel(Path[] rf) throws IOException {
        if (rf[0] == rf[1]) return label(rf) + "/" + rf[1].getFileName(); // in a workflow: STEP/file
        String l = label(rf);
        return (l.isEmpty() ? "" : l + "/") + rf[1].getFileName();
    }

    private void runLog(Path f) throws IOException {
        JsonNode log = read(f);
        section("Workflow " + esc(log.path("workflow").asText("?")), "workflow");
        body.append("<p>Descriptor: <code>").append(esc(log.path("descriptor").asText())).append("</code></p>\n");
        body.append("<table class=\"steps\"><tr><th>step</th><th>command</th><th>status</th><th>wall time</th><th>outputs</th></tr>\n");
        for (JsonNode s : log.path("steps")) {
            String status = s.path("status").asText() + (s.path("cached").asBoolean() ? " (cached)" : "");
            String wall = "";
            if (s.hasNonNull("start") && s.hasNonNull("end"))
                wall = String.format(Locale.ROOT, "%.1f s", Duration.between(Instant.parse(s.get("start").asText()), Instant.parse(s.get("end").asText())).toMillis() / 1000.0);
            // the command line the runner ran (older logs: the op)
            String command = s.hasNonNull("command") ? s.get("command").asText() : "ssmtk " + s.path("op").asText().replace('.', ' ');
            List<String> outs = new ArrayList<>();
            for (JsonNode o : s.path("outputs")) outs.add(Path.of(o.asText()).getFileName().toString());
            body.append("<tr><td>").append(esc(s.path("step").asText())).append("</td><td><code>").append(esc(command))
                    .append("</code></td><td class=\"").append(esc(s.path("status").asText())).append("\">").append(esc(status)).append("</td><td>")
                    .append(wall).append("</td><td>").append(esc(String.join(", ", outs))).append("</td></tr>\n");
        }
        body.append("</table>\n");
    }

    private void metrics(String label, Path f) throws IOException {
        List<double[]> rows = new ArrayList<>();
        int n = 0;
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            n++;
            if (line.isBlank()) continue;
            JsonNode j;
            try {
                j = JSON.readTree(line);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IOException(f + ":" + n + ": not a JSON object: " + e.getOriginalMessage());
            }
            if (j.has("step") && j.has("loss")) rows.add(new double[]{j.get("step").asDouble(), j.get("loss").asDouble(), j.path("tokens_per_s").asDouble(Double.NaN)});
        }
        if (rows.isEmpty()) return;
        double[] x = rows.stream().mapToDouble(r -> r[0]).toArray(), y = rows.stream().mapToDouble(r -> r[1]).toArray();
        section("Training curve: " + esc(label), "training");
        image(new Charts.Lines("training loss: " + label, "step", "loss (nats)").add("loss", x, y).markers().png(800, 420), "training loss of " + label);
        Map<String, Double> curve = new LinkedHashMap<>();
        for (double[] r : rows) curve.put(String.valueOf((long) r[0]), r[1]);
        curves.put(label, curve);
        put(label, "steps", (long) x[x.length - 1]);
        put(label, "final_loss", y[y.length - 1]);
        double tps = rows.getLast()[2];
        body.append(String.format(Locale.ROOT, "<p>%d logged steps; last step %d, loss %.4f%s.</p>\n", rows.size(), (long) x[x.length - 1], y[y.length - 1],
                Double.isNaN(tps) ? "" : String.format(Locale.ROOT, ", %.0f tokens/s", tps)));
    }

    private void eval(String label, Path f) throws IOException {
        JsonNode e = read(f);
        section("Held-out evaluation: " + esc(label), "evaluation");
        body.append("<table><tr><th>metric</th><th>value</th></tr>\n");
        for (var it = e.fields(); it.hasNext(); ) {
            var kv = it.next();
            if (!kv.getValue().isValueNode()) continue;
            body.append("<tr><td>").append(esc(kv.getKey())).append("</td><td>").append(esc(kv.getValue().asText())).append("</td></tr>\n");
            if (kv.getValue().isNumber() && !kv.getKey().equals("step")) put(label, kv.getKey(), kv.getValue().asDouble());
        }
        body.append("</table>\n");
        JsonNode pc = e.path("per_class");
        if (pc.isObject()) {
            body.append("<h3>Per class</h3><table><tr><th>class</th><th>examples</th><th>precision</th><th>recall</th></tr>\n");
            for (var it = pc.fields(); it.hasNext(); ) {
                var kv = it.next();
                body.append("<tr><td>").append(esc(kv.getKey())).append("</td><td>").append(kv.getValue().path("examples").asText())
                        .append("</td><td>").append(num(kv.getValue().path("precision"))).append("</td><td>").append(num(kv.getValue().path("recall"))).append("</td></tr>\n");
            }
            body.append("</table>\n");
        }
        JsonNode cm = e.path("confusion_matrix");
        if (cm.isObject()) {
            List<String> classes = new ArrayList<>();
            cm.path("classes").forEach(c -> classes.add(c.asText()));
            long max = 1;
            for (JsonNode row : cm.path("counts")) for (JsonNode c : row) max = Math.max(max, c.asLong());
            body.append("<h3>Confusion matrix</h3><p>rows: ").append(esc(cm.path("rows").asText("true class"))).append("; columns: ")
                    .append(esc(cm.path("columns").asText("predicted class"))).append("</p>\n<table class=\"cm\"><tr><th></th>");
            for (String c : classes) body.append("<th>").append(esc(c)).append("</th>");
            body.append("</tr>\n");
            int i = 0;
            for (JsonNode row : cm.path("counts")) {
                body.append("<tr><th>").append(esc(i < classes.size() ? classes.get(i) : "?")).append("</th>");
                for (JsonNode c : row) {
                    int shade = (int) Math.round(255 - 150.0 * c.asLong() / max);
                    body.append("<td style=\"background:rgb(").append(shade).append(',').append(shade).append(",255)\">").append(c.asLong()).append("</td>");
                }
                body.append("</tr>\n");
                i++;
            }
            body.append("</table>\n");
        }
        if (e.has("bits_per_base") || e.has("bits_per_sample")) put(label, e.has("bits_per_base") ? "bits_per_base" : "bits_per_sample", e.path(e.has("bits_per_base") ? "bits_per_base" : "bits_per_sample").asDouble());
    }

    /** ROC curve from calls TSVs of known class (two classes: p of the second named class is the score). */
    private void roc(Map<String, List<Path>> truth) throws IOException {
        List<String> classes = new ArrayList<>(truth.keySet());
        if (classes.size() != 2) throw new IOException("--truth: a ROC curve needs exactly two classes, got " + classes);
        String positive = classes.get(1);
        List<Double> scores = new ArrayList<>();
        List<Boolean> isPositive = new ArrayList<>();
        for (String c : classes)
            for (Path f : truth.get(c)) {
                List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
                if (lines.isEmpty()) throw new IOException(f + ": empty calls TSV");
                List<String> header = List.of(lines.getFirst().split("\t"));
                int col = header.indexOf("p_" + positive);
                if (col < 0) throw new IOException(f + ": no column p_" + positive + " (columns: " + String.join(", ", header) + ")");
                for (int i = 1; i < lines.size(); i++) {
                    if (lines.get(i).isBlank()) continue;
                    String[] cells = lines.get(i).split("\t");
                    if (cells.length <= col) throw new IOException(f + ":" + (i + 1) + ": " + cells.length + " columns, expected at least " + (col + 1));
                    try {
                        scores.add(Double.parseDouble(cells[col]));
                    } catch (NumberFormatException e) {
                        throw new IOException(f + ":" + (i + 1) + ": p_" + positive + " is not a number: '" + cells[col] + "'");
                    }
                    isPositive.add(c.equals(positive));
                }
            }
        long pos = isPositive.stream().filter(b -> b).count(), neg = isPositive.size() - pos;
        if (pos == 0 || neg == 0) throw new IOException("--truth: calls of both classes are needed for a ROC curve");
        Integer[] order = new Integer[scores.size()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> Double.compare(scores.get(b), scores.get(a)));
        List<Double> fpr = new ArrayList<>(List.of(0.0)), tpr = new ArrayList<>(List.of(0.0));
        long tp = 0, fp = 0;
        for (int k = 0; k < order.length; k++) {
            if (isPositive.get(order[k])) tp++; else fp++;
            boolean tieNext = k + 1 < order.length && scores.get(order[k + 1]).equals(scores.get(order[k]));
            if (!tieNext) {
                fpr.add((double) fp / neg);
                tpr.add((double) tp / pos);
            }
        }
        double[] s = new double[scores.size()];
        boolean[] p = new boolean[scores.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = scores.get(i);
            p[i] = isPositive.get(i);
        }
        double auc = ClassificationMetrics.rocAuc(s, p);
        section("ROC: " + esc(classes.get(0)) + " vs " + esc(positive), "roc");
        image(new Charts.Lines(String.format(Locale.ROOT, "ROC, positive class %s (AUC %.4f)", positive, auc), "false positive rate", "true positive rate")
                .add("ROC", fpr.stream().mapToDouble(Double::doubleValue).toArray(), tpr.stream().mapToDouble(Double::doubleValue).toArray())
                .add("chance", new double[]{0, 1}, new double[]{0, 1}).png(640, 480), "ROC curve");
        body.append(String.format(Locale.ROOT, "<p>%d calls (%d %s, %d %s); ROC-AUC %.4f (score: p_%s).</p>\n", s.length, neg, esc(classes.get(0)), pos, esc(positive), auc, esc(positive)));
        put("roc", "roc_auc", auc);
    }

    /** A classify TSV (id, label, p_CLASS...): calls per label. Other TSVs are not ours and are skipped. */
    private void calls(String label, Path f) throws IOException {
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        if (lines.isEmpty()) return;
        List<String> header = List.of(lines.getFirst().split("\t"));
        int col = header.indexOf("label");
        if (col < 0 || header.stream().noneMatch(h -> h.startsWith("p_"))) return;
        Map<String, Integer> counts = new TreeMap<>();
        for (String l : lines.subList(1, lines.size())) {
            if (l.isBlank()) continue;
            String[] c = l.split("\t");
            if (c.length > col) counts.merge(c[col], 1, Integer::sum);
        }
        section("Calls: " + esc(label), "calls");
        body.append("<table><tr><th>label</th><th>calls</th><th>fraction</th></tr>\n");
        int total = counts.values().stream().mapToInt(Integer::intValue).sum();
        for (var e : counts.entrySet())
            body.append(String.format(Locale.ROOT, "<tr><td>%s</td><td>%d</td><td>%.3f</td></tr>%n", esc(e.getKey()), e.getValue(), (double) e.getValue() / Math.max(1, total)));
        body.append("</table>\n");
        put(label, "calls", total);
    }

    /**
     * A long-context table (scripts/audio-long-context.sh's long-context.tsv: context, ..., test_bits_per_sample,
     * ...): held-out bits per sample against training context, log x, and the table. Other TSVs are skipped.
     */
    private void longContext(String label, Path f) throws IOException {
        String first;
        try (java.io.BufferedReader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
            first = r.readLine(); // the header alone decides: a calls TSV of millions of reads is not read whole again
        }
        if (first == null) return;
        List<String> header = List.of(first.split("\t"));
        int ctx = header.indexOf("context"), bits = header.indexOf("test_bits_per_sample");
        if (ctx != 0 || bits < 0) return;
        List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        List<double[]> pts = new ArrayList<>();
        for (int n = 1; n < lines.size(); n++) {
            if (lines.get(n).isBlank()) continue;
            String[] c = lines.get(n).split("\t");
            try {
                pts.add(new double[]{Double.parseDouble(c[ctx]), Double.parseDouble(c[bits])});
            } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
                throw new IOException(f + ":" + (n + 1) + ": a long-context row needs a number under context and test_bits_per_sample");
            }
        }
        if (pts.isEmpty()) return;
        section("Long context: " + esc(label), "long-context");
        Charts.Lines chart = new Charts.Lines("held-out bits/sample vs training context: " + label, "training context (samples)", "bits per sample")
                .logX().markers();
        chart.add("held-out", pts.stream().mapToDouble(p -> p[0]).toArray(), pts.stream().mapToDouble(p -> p[1]).toArray());
        image(chart.png(900, 400), "long context " + label);
        body.append("<table><tr><th>training context (samples)</th><th>held-out bits/sample</th></tr>\n");
        for (double[] p : pts) body.append(String.format(Locale.ROOT, "<tr><td>%,d</td><td>%.4f</td></tr>%n", (long) p[0], p[1]));
        body.append("</table>\n");
        boolean falling = true;
        for (int i = 1; i < pts.size(); i++) falling &= pts.get(i)[1] < pts.get(i - 1)[1];
        body.append("<p>Falls with every longer context: ").append(falling ? "yes" : "no").append(".</p>\n");
        put(label, "bits_at_longest_context", pts.getLast()[1]);
    }

    /** A score track: one line per contig (at most 4 shown), x = window midpoint. */
    private void bedGraph(String label, Path f) throws IOException {
        Map<String, List<double[]>> byContig = new LinkedHashMap<>();
        int n = 0;
        for (String line : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            n++;
            if (line.isBlank() || line.startsWith("track") || line.startsWith("#") || line.startsWith("browser")) continue;
            String[] c = line.split("\\s+");
            if (c.length < 4) throw new IOException(f + ":" + n + ": a bedGraph line needs chrom, start, end, value");
            try {
                byContig.computeIfAbsent(c[0], k -> new ArrayList<>()).add(new double[]{(Long.parseLong(c[1]) + Long.parseLong(c[2])) / 2.0, Double.parseDouble(c[3])});
            } catch (NumberFormatException e) {
                throw new IOException(f + ":" + n + ": not a number in '" + line + "'");
            }
        }
        if (byContig.isEmpty()) return;
        section("Score track: " + esc(label), "scores");
        Charts.Lines chart = new Charts.Lines("score track: " + label, "position (bp)", "mean log2 p (bits)");
        int shown = 0;
        for (var e : byContig.entrySet()) {
            if (shown++ == 4) break;
            List<double[]> pts = e.getValue();
            int step = Math.max(1, pts.size() / 2000); // a chart of more points than pixels shows nothing more
            List<double[]> kept = new ArrayList<>();
            for (int i = 0; i < pts.size(); i += step) kept.add(pts.get(i));
            chart.add(e.getKey(), kept.stream().mapToDouble(p -> p[0]).toArray(), kept.stream().mapToDouble(p -> p[1]).toArray());
        }
        image(chart.png(900, 400), "score track " + label);
        double mean = byContig.values().stream().flatMap(List::stream).mapToDouble(p -> p[1]).average().orElse(Double.NaN);
        body.append(String.format(Locale.ROOT, "<p>%d contigs, %d windows, mean %.4f bits%s.</p>%n", byContig.size(),
                byContig.values().stream().mapToInt(List::size).sum(), mean, byContig.size() > 4 ? " (first 4 contigs drawn)" : ""));
        put(label, "mean_score_bits", mean);
    }

    private void spectrogram(String label, Path f) throws IOException {
        WavReader.Clip clip = WavReader.read(f);
        section("Audio: " + esc(label), "audio");
        image(Spectrogram.png(clip.samples(), clip.sampleRate()), "spectrogram of " + label);
        // the clip itself, to listen to, while it keeps the page small enough to mail or attach
        if (Files.size(f) <= MAX_EMBEDDED_WAV)
            body.append("<p><audio controls preload=\"none\" src=\"data:audio/wav;base64,").append(Base64.getEncoder().encodeToString(Files.readAllBytes(f)))
                    .append("\"></audio></p>\n");
        body.append(String.format(Locale.ROOT, "<p>%.2f s at %d Hz (%d-bit%s, %d channel%s); spectrogram: 512-sample Hann windows, dB.</p>%n", clip.seconds(), clip.sampleRate(),
                clip.bitsPerSample(), clip.floating() ? " float" : "", clip.channels(), clip.channels() == 1 ? "" : "s"));
        put(label, "seconds", clip.seconds());
    }

    /** WAVs up to this size are embedded in the page as playable audio. */
    static final long MAX_EMBEDDED_WAV = 1 << 20;

    /** An {@code audio score-generation} JSON: recognised by its keys, whatever it is called. */
    private static boolean isGenerationScores(Path f) throws IOException {
        String name = f.getFileName().toString();
        if (!name.endsWith(".json") || name.equals("eval.json") || name.equals("run.json") || Files.size(f) > 1 << 20) return false;
        try {
            JsonNode n = read(f);
            return n.has("frechet_distance") && n.path("generated").has("inception_score") && n.path("real").has("inception_score");
        } catch (IOException e) {
            return false; // a JSON file that is not ours (or not JSON) is simply not reported
        }
    }

    private void generation(String label, Path f) throws IOException {
        JsonNode n = read(f);
        section("Generation scores: " + esc(label), "generation");
        body.append("<p>").append(esc(n.path("protocol").asText())).append("</p>\n");
        body.append("<table><tr><th>clips</th><th>n</th><th>Inception Score</th><th>modified IS</th><th>mean max p</th><th>Fréchet distance to real</th></tr>\n");
        for (String set : List.of("generated", "real")) {
            JsonNode s = n.path(set);
            String fd = set.equals("generated") ? num(n.path("frechet_distance"))
                    : n.has("frechet_distance_real_halves") ? num(n.path("frechet_distance_real_halves")) + " (one random half of the real clips vs the other)" : "";
            body.append("<tr><td>").append(set).append(": ").append(esc(s.path("source").asText())).append("</td><td>").append(s.path("clips").asInt())
                    .append("</td><td>").append(num(s.path("inception_score"))).append("</td><td>").append(num(s.path("modified_inception_score")))
                    .append("</td><td>").append(num(s.path("mean_max_probability"))).append("</td><td>").append(fd).append("</td></tr>\n");
        }
        body.append("</table>\n");
        put(label, "inception_score", n.path("generated").path("inception_score").asDouble());
        put(label, "real_inception_score", n.path("real").path("inception_score").asDouble());
        put(label, "frechet_distance", n.path("frechet_distance").asDouble());
    }

    private void section(String heading, String kind) {
        if (sections > 0) body.append("</section>\n");
        sections++;
        body.append("<section class=\"").append(kind).append("\" id=\"s").append(sections).append("\">\n<h2>").append(heading).append("</h2>\n");
    }

    private void image(byte[] png, String alt) {
        charts++;
        body.append("<img alt=\"").append(esc(alt)).append("\" src=\"data:image/png;base64,").append(Base64.getEncoder().encodeToString(png)).append("\">\n");
    }

    private void put(String sample, String key, Object value) {
        headline.computeIfAbsent(sample, k -> new TreeMap<>()).put(key, value);
    }

    private String page(String version) {
        String sectionsHtml = body + "</section>\n";
        return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" + esc(title) + "</title>\n"
                + "<style>\n"
                + "body{font-family:sans-serif;margin:2em auto;max-width:1000px;color:#222}h1{border-bottom:2px solid #346}\n"
                + "section{margin:1.5em 0;padding:0.5em 1em;border:1px solid #ccd;border-radius:6px}img{max-width:100%;display:block;margin:0.5em 0}\n"
                + "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #bbc;padding:3px 8px;text-align:left}th{background:#eef}\n"
                + "td.ok{color:#161}td.failed{color:#a11;font-weight:bold}table.cm td{text-align:right;min-width:3em}code{background:#f4f4f8}\n"
                + "</style>\n</head>\n<body>\n<h1>" + esc(title) + "</h1>\n"
                + "<p>Written by ssmtk " + esc(version) + " on " + Instant.now().toString() + ". Self-contained: every chart is inlined.</p>\n"
                + sectionsHtml + "</body>\n</html>\n";
    }

    private ObjectNode mqcTable() {
        ObjectNode m = JSON.createObjectNode();
        m.put("id", "ssmtk_summary").put("section_name", "ssmtk").put("description", "Headline numbers of the ssmtk runs in " + title)
                .put("plot_type", "table");
        m.putObject("pconfig").put("id", "ssmtk_summary_table").put("title", "ssmtk");
        ObjectNode data = m.putObject("data");
        for (var e : headline.entrySet()) {
            ObjectNode row = data.putObject(e.getKey());
            for (var kv : e.getValue().entrySet()) row.putPOJO(kv.getKey(), kv.getValue());
        }
        return m;
    }

    private ObjectNode mqcCurves() {
        ObjectNode m = JSON.createObjectNode();
        m.put("id", "ssmtk_loss").put("section_name", "ssmtk training loss").put("description", "Training loss against step").put("plot_type", "linegraph");
        m.putObject("pconfig").put("id", "ssmtk_loss_plot").put("title", "ssmtk: training loss").put("xlab", "step").put("ylab", "loss (nats)");
        ObjectNode data = m.putObject("data");
        for (var e : curves.entrySet()) {
            ObjectNode c = data.putObject(e.getKey());
            for (var kv : e.getValue().entrySet()) c.put(kv.getKey(), kv.getValue());
        }
        return m;
    }

    private static JsonNode read(Path f) throws IOException {
        try {
            return JSON.readTree(f.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IOException(f + ": not valid JSON: " + e.getOriginalMessage());
        }
    }

    private static String num(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%.4f", n.asDouble()) : esc(n.asText());
    }

    static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
