package org.ssmtk.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.cli.Opt.Kind;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 15, "inputs destroyed": an output that names an input, by the same path, through a symbolic
 * link or as a hard link, is refused before anything is read or written, for every command that has
 * both (found from the declarations, so a new command is covered without being listed here).
 */
class InputOutputGuardTest {
    @TempDir
    Path dir;

    private static final byte[] CONTENT = ">c\nACGT\n".getBytes(StandardCharsets.US_ASCII);

    /** args for op with every required option filled, input `in` and output `out` given as the paths under test. */
    private static List<String> args(Command c, String input, String output, Path in, Path out) {
        List<String> a = new ArrayList<>();
        for (Opt<?> o : c.options()) {
            boolean chosen = o.name().equals(input) || o.name().equals(output);
            if (!o.isRequired() && !chosen) continue;
            a.add("--" + o.name());
            Kind k = o.kind();
            if (k == Kind.FLAG) continue;
            Path p = o.name().equals(input) ? in : o.name().equals(output) ? out : in.resolveSibling("other-" + o.name());
            a.add(switch (k) {
                case LABELED_INPUT -> "X=" + p;
                case INPUT, OUTPUT -> p.toString();
                default -> "1";
            });
        }
        return a;
    }

    private int checkEveryCommand(java.util.function.BiFunction<Path, Path, Path> outputFor) throws Exception {
        int checked = 0;
        for (CommandGroup g : Main.groups())
            for (Command c : g.commands()) {
                Opt<?> input = null, output = null;
                for (Opt<?> o : c.options()) {
                    Kind k = o.kind();
                    if (input == null && (k == Kind.INPUT || k == Kind.LABELED_INPUT)) input = o;
                    if (output == null && k == Kind.OUTPUT) output = o;
                }
                if (input == null || output == null) continue;
                Path sub = Files.createDirectories(dir.resolve(g.name() + "-" + c.name() + "-" + checked));
                Path victim = Files.write(sub.resolve("input.fa"), CONTENT);
                Path out = outputFor.apply(sub, victim);
                List<String> a = new ArrayList<>(List.of(g.name(), c.name()));
                a.addAll(args(c, input.name(), output.name(), victim, out));
                MainTest.Result r = MainTest.run(a.toArray(String[]::new));
                String what = String.join(" ", a);
                assertEquals(1, r.code(), what + ": " + r.err());
                assertTrue(r.err().contains("is the same file as --" + input.name()), what + ": " + r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                assertArrayEquals(CONTENT, Files.readAllBytes(victim), what + " changed its input");
                try (var files = Files.list(sub)) {
                    assertEquals(out.equals(victim) ? 1 : 2, files.count(), what + " left something behind");
                }
                checked++;
            }
        assertTrue(checked >= 15, "commands with an input and an output: " + checked);
        return checked;
    }

    @Test
    void everyCommandRefusesAnOutputThatIsItsInput() throws Exception {
        checkEveryCommand((sub, victim) -> victim);
    }

    @Test
    void everyCommandRefusesAnOutputThatIsItsInputThroughASymbolicLink() throws Exception {
        checkEveryCommand((sub, victim) -> {
            try {
                return Files.createSymbolicLink(sub.resolve("link.out"), victim.getFileName());
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @Test
    void everyCommandRefusesAnOutputThatIsAHardLinkToItsInput() throws Exception {
        checkEveryCommand((sub, victim) -> {
            try {
                return Files.createLink(sub.resolve("hard.out"), victim);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @Test
    void twoOutputsCannotShareOnePath() throws Exception {
        Path model = dir.resolve("m"), fa = Files.write(dir.resolve("r.fa"), CONTENT), out = dir.resolve("calls.tsv");
        MainTest.Result r = MainTest.run("dna", "classify-reads", "--model", model.toString(), "--input", fa.toString(),
                "--output", out.toString(), "--bam-out", out.toString());
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("--bam-out " + out + " is the same file as --output"), r.err());
    }
}
