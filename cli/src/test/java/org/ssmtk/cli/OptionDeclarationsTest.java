package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.Options;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each option is declared once: what --help says its default is must be what the command gets when
 * the option is absent, for every option of every registered command.
 */
class OptionDeclarationsTest {
    @TempDir
    Path dir;

    /** The text --help prints for one option: from its "--name" line up to the next option, on one line. */
    static String helpEntry(String help, String name) {
        List<String> lines = help.lines().toList();
        StringBuilder entry = null;
        for (String line : lines) {
            // an option's first line is indented a little; its wrapped description far more (a wrapped line may begin
            // with another option's name, as in "--device cpu;")
            boolean starts = line.matches("\\s{1,8}--[a-z0-9-]+.*");
            if (entry != null && (starts || line.isBlank())) break;
            if (starts && line.trim().matches("--" + Pattern.quote(name) + "(\\s.*)?")) entry = new StringBuilder(line.trim());
            else if (entry != null) entry.append(' ').append(line.trim());
        }
        return entry == null ? null : entry.toString();
    }

    @Test
    void helpPrintsTheDefaultThatAnAbsentOptionGets() throws Exception {
        CommandLine empty = new DefaultParser().parse(new Options(), new String[0]);
        int checked = 0;
        List<String> wrong = new ArrayList<>();
        for (CommandGroup g : Main.groups()) {
            for (Command c : g.commands()) {
                String cmd = g.name() + " " + c.name();
                MainTest.Result h = MainTest.run(g.name(), c.name(), "--help");
                assertEquals(0, h.code(), cmd);
                for (Opt<?> o : c.options()) {
                    String entry = helpEntry(h.out(), o.name());
                    if (entry == null) {
                        wrong.add(cmd + " --" + o.name() + ": not in --help");
                        continue;
                    }
                    int stated = entry.split("\\(default", -1).length - 1;
                    if (o.defaultText() == null) {
                        if (stated != 0) wrong.add(cmd + " --" + o.name() + ": help states a default the option does not declare: " + entry);
                        if (o.kind() == Opt.Kind.FLAG) {
                            if (!Boolean.FALSE.equals(o.get(empty))) wrong.add(cmd + " --" + o.name() + ": an absent flag is not false");
                        } else if (o.get(empty) != null) {
                            wrong.add(cmd + " --" + o.name() + ": absent gives " + o.get(empty) + " but help states no default");
                        }
                        continue;
                    }
                    if (stated != 1 || !entry.contains("(default: " + o.defaultText() + ")"))
                        wrong.add(cmd + " --" + o.name() + ": help should state (default: " + o.defaultText() + ") once: " + entry);
                    if (o.defaultValue() == null) {
                        // computed by the command: the option gives nothing of its own
                        if (o.get(empty) != null) wrong.add(cmd + " --" + o.name() + ": a computed default, yet absent gives " + o.get(empty));
                    } else {
                        Object printed = o.parse(o.defaultText()); // what a user typing the printed default would get
                        if (!Objects.deepEquals(printed, o.get(empty)))
                            wrong.add(cmd + " --" + o.name() + ": help prints " + o.defaultText() + ", absent gives " + show(o.get(empty)));
                    }
                    checked++;
                }
                // a footer naming an option's default must say what the declaration says
                Matcher m = Pattern.compile("--([a-z0-9-]+)(?: [a-z]+)? \\(default:? ").matcher(c.footer());
                while (m.find()) {
                    Opt<?> o = c.options().stream().filter(x -> x.name().equals(m.group(1))).findFirst().orElse(null);
                    if (o == null || o.defaultText() == null || !c.footer().startsWith(o.defaultText(), m.end()))
                        wrong.add(cmd + " footer: --" + m.group(1) + "'s default is not its declared " + (o == null ? "(no such option)" : o.defaultText()));
                }
            }
        }
        assertTrue(wrong.isEmpty(), String.join("\n", wrong));
        assertTrue(checked > 100, "defaults checked: " + checked);
    }

    private static String show(Object v) {
        return v instanceof int[] a ? java.util.Arrays.toString(a) : String.valueOf(v);
    }

    /** The command sources read options only through their declarations, so no second default can hide in a parse call. */
    @Test
    void commandsReadOptionsOnlyThroughTheirDeclarations() throws IOException {
        Path src = Path.of("src", "main", "java", "org", "ssmtk", "cli");
        Pattern raw = Pattern.compile("getOptionValues?\\(|\\.hasOption\\(|new Options\\(|Option\\.builder\\(");
        List<String> found = new ArrayList<>();
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                if (f.getFileName().toString().equals("Opt.java")) continue;
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++)
                    if (raw.matcher(lines.get(i)).find()) found.add(f.getFileName() + ":" + (i + 1) + ": " + lines.get(i).trim());
            }
        }
        assertTrue(found.isEmpty(), "options read around their declarations:\n" + String.join("\n", found));
    }

    @Test
    void aSingleValuedOptionGivenTwiceIsRefusedInOneLine() {
        Path model = Path.of("..", "test-data", "fixtures", "tiny-mamba").toAbsolutePath().normalize();
        MainTest.Result r = MainTest.run("model", "generate", "--model", model.toString(), "--prompt-ids", "1", "--max-new", "1",
                "--max-new", "2", "--threads", "1");
        assertEquals(1, r.code(), r.err());
        assertEquals("ssmtk model generate: --max-new given twice", r.err().strip());
        MainTest.Result flag = MainTest.run("model", "generate", "--model", model.toString(), "--prompt-ids", "1", "--max-new", "1",
                "--device", "cpu", "--device", "cpu");
        assertEquals(1, flag.code(), flag.err());
        assertTrue(flag.err().contains("--device given twice"), flag.err());
        // multi-valued options stay repeatable
        MainTest.Result ok = MainTest.run("model", "generate", "--model", model.toString(), "--prompt-ids", "1", "--max-new", "2", "--threads", "1");
        assertEquals(0, ok.code(), ok.err());
    }

    @Test
    void repeatableOptionsAreExactlyTheMultiValuedOnes() {
        for (CommandGroup g : Main.groups())
            for (Command c : g.commands())
                for (Opt<?> o : c.options())
                    if (o.isRepeatable())
                        assertTrue(List.of("class", "input", "truth", "param", "part").contains(o.name()), g.name() + " " + c.name() + " --" + o.name());
        assertFalse(TrainCommands.OUT.isRepeatable());
    }

    /**
     * The bug this declaration scheme fixes: synthetic's --help said batch 8 and lr 1e-3 while runs
     * used 32 and 2e-3. Run it without --batch and --lr and compare with what --help prints.
     */
    @Test
    void syntheticRunsWithTheBatchAndLearningRateItsHelpPrints() throws Exception {
        String help = MainTest.run("synthetic", "induction-heads", "--help").out();
        Path out = dir.resolve("run");
        MainTest.Result r = MainTest.run("synthetic", "induction-heads", "--steps", "1", "--train", "16", "--eval", "16", "--eval-samples", "2",
                "--d-model", "8", "--layers", "1", "--d-state", "2", "--threads", "1", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode options = new ObjectMapper().readTree(out.resolve("results.json").toFile()).get("options");
        assertEquals(options.get("batch").asInt(), Integer.parseInt(printedDefault(help, "batch")), help);
        assertEquals(options.get("lr").asDouble(), Double.parseDouble(printedDefault(help, "lr")), help);
    }

    /** "(default: X)" or "(default X)" in the option's --help entry. */
    private static String printedDefault(String help, String name) {
        String entry = helpEntry(help, name);
        assertTrue(entry != null, "--" + name + " in " + help);
        Matcher m = Pattern.compile("\\(default:? ([^)]*)\\)").matcher(entry);
        assertTrue(m.find(), entry);
        return m.group(1);
    }

    @Test
    void numbersPrintAsTypedAndParseBack() throws Exception {
        assertEquals("1e-5", Opt.showNumber(1e-5));
        assertEquals("0.001", Opt.showNumber(1e-3));
        Opt<Double> tol = Opt.number("tolerance", "T", "x").byDefault(1e-5);
        assertEquals(1e-5, tol.parse(tol.defaultText()));
        assertNull(Opt.number("x", "X", "y").defaultText());
    }
}
