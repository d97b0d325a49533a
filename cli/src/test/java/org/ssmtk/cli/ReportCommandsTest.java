package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ssmtk report html}: content, MultiQC files, errors, and rendering in headless Chromium. */
class ReportCommandsTest {
    static final Path AUDIO = DnaCommandsTest.DATA.resolve("../audio").normalize();
    @TempDir
    Path dir;

    /** A run folder shaped like a classifier's: metrics.jsonl, eval.json; plus calls of known class and a score track. */
    private Path fixture() throws Exception {
        Path run = Files.createDirectories(dir.resolve("cls/run"));
        StringBuilder m = new StringBuilder();
        for (int s = 10; s <= 100; s += 10) m.append("{\"step\":").append(s).append(",\"loss\":").append(1.0 / s).append(",\"tokens_per_s\":900}\n");
        Files.writeString(run.resolve("metrics.jsonl"), m);
        Files.writeString(run.resolve("eval.json"), """
                {"accuracy": 0.75, "examples": 8, "per_class": {"AT": {"examples": 4, "precision": 0.8, "recall": 1.0}, "GC": {"examples": 4, "precision": 1.0, "recall": 0.5}},
                 "confusion_matrix": {"classes": ["AT", "GC"], "rows": "true class", "columns": "predicted class", "counts": [[4, 0], [2, 2]]}, "roc_auc": 0.875}
                """);
        Files.writeString(dir.resolve("a.tsv"), "id\tlabel\tp_AT\tp_GC\na1\tAT\t0.9\t0.1\na2\tAT\t0.6\t0.4\na3\tGC\t0.3\t0.7\n");
        Files.writeString(dir.resolve("b.tsv"), "id\tlabel\tp_AT\tp_GC\nb1\tGC\t0.2\t0.8\nb2\tAT\t0.65\t0.35\nb3\tGC\t0.1\t0.9\n");
        Files.writeString(dir.resolve("s.bedGraph"), "c1\t0\t100\t-1.9\nc1\t100\t200\t-1.5\nc1\t200\t300\t-1.7\nc2\t0\t100\t-1.2\n");
        return run;
    }

    @Test
    void reportHoldsEverySectionAndMultiQcFiles() throws Exception {
        fixture();
        Path html = dir.resolve("out/report.html");
        MainTest.Result r = MainTest.run("report", "html", "--input", dir.resolve("cls").toString(), "--input", dir.resolve("b.tsv").toString(),
                "--input", dir.resolve("s.bedGraph").toString(), "--input", AUDIO.resolve("tone-16k-16bit.wav").toString(),
                "--truth", "AT=" + dir.resolve("a.tsv"), "--truth", "GC=" + dir.resolve("b.tsv"), "--title", "test <report>", "--output", html.toString());
        assertEquals(0, r.code(), r.err());
        String page = Files.readString(html);
        assertTrue(page.contains("<title>test &lt;report&gt;</title>"), "title escaped");
        String here = dir.getFileName() + "/";
        for (String s : List.of("Training curve: cls/run", "Held-out evaluation: cls/run", "Confusion matrix", "ROC: AT vs GC", "Calls: " + here + "b.tsv",
                "Score track: " + here + "s.bedGraph", "Audio: audio/tone-16k-16bit.wav"))
            assertTrue(page.contains(s), s);
        assertFalse(page.matches("(?s).*(src|href)=\"(?!data:)[^\"]+\".*"), "self-contained: no external src or href");
        // ROC-AUC of the truth calls: p_GC of GC {0.8, 0.35, 0.9} against AT {0.1, 0.4, 0.7}: 7 of 9 pairs ordered
        assertTrue(page.contains("ROC-AUC 0.7778"), page.substring(page.indexOf("ROC:")).lines().limit(4).toList().toString());

        JsonNode mqc = new ObjectMapper().readTree(dir.resolve("out/report_mqc.json").toFile());
        assertEquals("table", mqc.get("plot_type").asText());
        assertEquals(0.75, mqc.at("/data/cls~1run/accuracy").asDouble());
        assertEquals(100, mqc.at("/data/cls~1run/steps").asInt());
        JsonNode loss = new ObjectMapper().readTree(dir.resolve("out/report_loss_mqc.json").toFile());
        assertEquals("linegraph", loss.get("plot_type").asText());
        assertEquals(0.01, loss.at("/data/cls~1run/100").asDouble(), 1e-12);
    }

    /** Issue 20: scripts/audio-long-context.sh's table becomes a chart of bits against context, with the table and whether it falls. */
    @Test
    void longContextTableIsCharted() throws Exception {
        Path lc = Files.createDirectories(dir.resolve("lc"));
        Files.writeString(lc.resolve("long-context.tsv"), """
                context\tbatch\tsteps\ttokens_seen\ttest_bits_per_sample\tscored_samples
                8192\t64\t600\t314572800\t4.337391\t12408484
                32768\t16\t600\t314572800\t4.334171\t12409620
                131072\t4\t600\t314572800\t4.332001\t12409903
                """);
        Files.writeString(lc.resolve("other.tsv"), "context\tsomething\n1\t2\n"); // no bits column: not a long-context table
        Path html = dir.resolve("r.html");
        MainTest.Result r = MainTest.run("report", "html", "--input", lc.toString(), "--output", html.toString());
        assertEquals(0, r.code(), r.err());
        String page = Files.readString(html);
        assertTrue(page.contains("Long context: lc/long-context.tsv"), page);
        assertFalse(page.contains("other.tsv"), "a TSV without test_bits_per_sample is not charted");
        assertTrue(page.contains("<tr><td>131,072</td><td>4.3320</td></tr>"), page);
        assertTrue(page.contains("Falls with every longer context: yes."), page);
        assertTrue(page.contains("data:image/png;base64,"), "the chart is inlined");

        Files.writeString(lc.resolve("long-context.tsv"), "context\ttest_bits_per_sample\n8192\t4.3\n32768\t4.4\n");
        r = MainTest.run("report", "html", "--input", lc.toString(), "--output", html.toString());
        assertTrue(Files.readString(html).contains("Falls with every longer context: no."));
        Files.writeString(lc.resolve("long-context.tsv"), "context\ttest_bits_per_sample\n8192\tx\n");
        r = MainTest.run("report", "html", "--input", lc.toString(), "--output", html.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains(lc.resolve("long-context.tsv") + ":2: a long-context row needs a number"), r.err());
    }

    @Test
    void badInputsGiveOneLineAndNoReport() throws Exception {
        fixture();
        Path html = dir.resolve("r.html");
        MainTest.Result r = MainTest.run("report", "html", "--input", dir.resolve("nowhere").toString(), "--output", html.toString());
        assertEquals(1, r.code());
        assertEquals("ssmtk report html: " + dir.resolve("nowhere") + ": no such file or folder", r.err().strip());
        Files.writeString(dir.resolve("cls/run/metrics.jsonl"), "{\"step\": 1, \"loss\": 2}\nnot json\n");
        r = MainTest.run("report", "html", "--input", dir.resolve("cls").toString(), "--output", html.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().strip().startsWith("ssmtk report html: " + dir.resolve("cls/run/metrics.jsonl") + ":2: not a JSON object"), r.err());
        r = MainTest.run("report", "html", "--input", dir.resolve("a.tsv").toString(), "--truth", "AT=" + dir.resolve("a.tsv"), "--output", html.toString());
        assertEquals("ssmtk report html: --truth: a ROC curve needs exactly two classes, got [AT]", r.err().strip());
        Files.createDirectories(dir.resolve("empty"));
        r = MainTest.run("report", "html", "--input", dir.resolve("empty").toString(), "--output", html.toString());
        assertTrue(r.err().contains("nothing to report under"), r.err());
        assertFalse(Files.exists(html));
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith("_mqc.json")), "no MultiQC file either");
        }
    }

    /**
     * Renders the report in headless Chromium: the title arrives, every inlined image decodes (a test
     * copy of the page puts the count of images with no natural width into its title) and the
     * screenshot is not blank. CI installs Chromium (.ci/run); elsewhere the test skips, saying why.
     */
    @Test
    void rendersInHeadlessChromium() throws Exception {
        String chromium = Stream.of("chromium", "chromium-browser", "google-chrome").filter(ReportCommandsTest::onPath).findFirst().orElse(null);
        if (chromium == null && System.getenv("CI") != null) throw new AssertionError("CI=true but no chromium on PATH (.ci/run installs it)");
        Assumptions.assumeTrue(chromium != null, "no chromium on PATH: install it (apt-get install chromium) to run the rendering check");
        fixture();
        Path html = dir.resolve("report.html");
        MainTest.Result r = MainTest.run("report", "html", "--input", dir.resolve("cls").toString(), "--input", dir.resolve("s.bedGraph").toString(),
                "--input", AUDIO.resolve("chirp-16k-float.wav").toString(), "--truth", "AT=" + dir.resolve("a.tsv"), "--truth", "GC=" + dir.resolve("b.tsv"),
                "--title", "ssmtk render check", "--output", html.toString());
        assertEquals(0, r.code(), r.err());
        String page = Files.readString(html);
        int images = page.split("<img ", -1).length - 1;
        assertEquals(4, images, "loss, ROC, score track and spectrogram");

        Path probe = dir.resolve("probe.html");
        Files.writeString(probe, page.replace("</body>", "<script>window.addEventListener('load', () => { const bad = [...document.images]"
                + ".filter(i => !i.complete || i.naturalWidth === 0).length; document.title = document.title + ' | images ' + document.images.length + ' broken ' + bad; });</script></body>"));
        String dom = chromium(chromium, "--dump-dom", probe.toUri().toString());
        Matcher m = Pattern.compile("<title>(.*)</title>").matcher(dom);
        assertTrue(m.find(), "no title in Chromium's DOM");
        assertEquals("ssmtk render check | images " + images + " broken 0", m.group(1));

        Path shot = dir.resolve("shot.png");
        chromium(chromium, "--screenshot=" + shot, "--window-size=1000,2400", html.toUri().toString());
        BufferedImage img = ImageIO.read(shot.toFile());
        assertEquals(1000, img.getWidth());
        Set<Integer> colors = new HashSet<>();
        long nonWhite = 0;
        for (int y = 0; y < img.getHeight(); y += 2)
            for (int x = 0; x < img.getWidth(); x += 2) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                colors.add(rgb);
                if (rgb != 0xffffff) nonWhite++;
            }
        long sampled = (long) ((img.getHeight() + 1) / 2) * ((img.getWidth() + 1) / 2);
        assertTrue(colors.size() > 50, "screenshot has only " + colors.size() + " colours");
        assertTrue(nonWhite > sampled / 20, "screenshot is nearly blank: " + nonWhite + " of " + sampled + " sampled pixels not white");
    }

    private static boolean onPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
            if (Files.isExecutable(Path.of(d, exe))) return true;
        return false;
    }

    private String chromium(String exe, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                "--user-data-dir=" + dir.resolve("chromium-profile")));
        cmd.addAll(List.of(args));
        Path log = dir.resolve("chromium.err");
        Process p = new ProcessBuilder(cmd).redirectError(log.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(90, TimeUnit.SECONDS), "chromium did not finish in 90 s");
        assertEquals(0, p.exitValue(), "chromium failed: " + Files.readString(log));
        return out;
    }

    /** report plot: a TSV of numbers as a PNG; a cell that is no number is one line naming the file and line, no PNG. */
    @Test
    void plotDrawsATableOfNumbers() throws Exception {
        Path tsv = dir.resolve("acc.tsv"), png = dir.resolve("acc.png");
        Files.writeString(tsv, "window\tmamba\t6-mer\n1024\t0.4\t0.36\n8192\t-\t0.35\n1048576\t0.9\t0.5\n");
        MainTest.Result r = MainTest.run("report", "plot", "--table", tsv.toString(), "--output", png.toString(), "--log-x",
                "--y-label", "accuracy");
        assertEquals(0, r.code(), r.err());
        BufferedImage img = ImageIO.read(png.toFile());
        assertTrue(img.getWidth() > 100 && img.getHeight() > 100);
        Files.writeString(tsv, "window\tmamba\n1024\tabc\n");
        Files.delete(png);
        r = MainTest.run("report", "plot", "--table", tsv.toString(), "--output", png.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("acc.tsv line 2") && r.err().contains("'abc'"), r.err());
        assertFalse(Files.exists(png));
    }
}
