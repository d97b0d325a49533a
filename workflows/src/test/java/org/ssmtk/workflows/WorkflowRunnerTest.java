package org.ssmtk.workflows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.workflows.descriptor.Workflow;
import org.ssmtk.workflows.descriptor.WorkflowException;
import org.ssmtk.workflows.descriptor.WorkflowParser;
import org.ssmtk.workflows.runner.StepExecutor;
import org.ssmtk.workflows.runner.WorkflowRunner;
import org.ssmtk.workflows.runner.WorkflowRunner.Outcome;
import org.ssmtk.workflows.runner.WorkflowRunner.Status;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WorkflowRunnerTest {
    @TempDir
    Path dir;
    final List<String> calls = new ArrayList<>();

    /** A stand-in for the CLI: copies --in (or writes --n) to --out, prefixed with the op's name; --fail fails. */
    final StepExecutor exec = (args, out, err) -> {
        List<String> a = Arrays.asList(args);
        calls.add(String.join(" ", a));
        if (a.contains("--fail")) {
            err.println("warming up");
            err.println("ssmtk t copy: --in broke");
            return 1;
        }
        String body = a.contains("--in") ? Files.readString(Path.of(a.get(a.indexOf("--in") + 1))) : a.get(a.indexOf("--n") + 1);
        Files.writeString(Path.of(a.get(a.indexOf("--out") + 1)), args[1] + "(" + body + ")");
        return 0;
    };

    Workflow workflow(String extra) throws Exception {
        Path d = Files.createDirectories(dir.resolve("wf"));
        Files.writeString(d.resolve("seed.txt"), "seed");
        Path f = d.resolve("w.yaml");
        Files.writeString(f, """
                name: chain
                steps:
                  - id: c
                    op: t.copy
                    needs: [b]
                    params:
                      in: ${b}/b.txt
                      out: c.txt
                  - id: b
                    op: t.copy
                    needs: [a]
                    params:
                      in: ${a}/a.txt
                      out: b.txt
                  - id: a
                    op: t.make
                    params:
                      in: seed.txt
                      out: a.txt
                """ + extra);
        return WorkflowParser.parse(f, FakeOps.INSTANCE);
    }

    List<Outcome> run(Workflow wf, boolean resume) throws Exception {
        return new WorkflowRunner(wf, dir.resolve("work"), exec, new PrintStream(new ByteArrayOutputStream())).run(resume);
    }

    @Test
    void runsInDependencyOrderAndResumes() throws Exception {
        Workflow wf = workflow("");
        assertEquals(List.of(new Outcome("a", Status.OK), new Outcome("b", Status.OK), new Outcome("c", Status.OK)), run(wf, false));
        assertEquals("copy(copy(make(seed)))", Files.readString(dir.resolve("work/c/c.txt")));
        assertEquals(3, calls.size());

        // Everything unchanged: nothing runs.
        assertEquals(List.of(Status.CACHED, Status.CACHED, Status.CACHED), run(wf, true).stream().map(Outcome::status).toList());
        assertEquals(3, calls.size());

        // A changed input re-runs its step and, through the changed output, everything after it.
        Files.writeString(dir.resolve("wf/seed.txt"), "other");
        assertEquals(List.of(Status.OK, Status.OK, Status.OK), run(wf, true).stream().map(Outcome::status).toList());
        assertEquals("copy(copy(make(other)))", Files.readString(dir.resolve("work/c/c.txt")));

        // A lost output re-runs only the step that made it (its inputs, so its key, are unchanged).
        Files.delete(dir.resolve("work/c/c.txt"));
        assertEquals(List.of(Status.CACHED, Status.CACHED, Status.OK), run(wf, true).stream().map(Outcome::status).toList());

        // Without --resume everything runs again.
        assertEquals(List.of(Status.OK, Status.OK, Status.OK), run(wf, false).stream().map(Outcome::status).toList());

        JsonNode log = new ObjectMapper().readTree(dir.resolve("work/run.json").toFile());
        assertEquals("chain", log.get("workflow").asText());
        JsonNode a = log.get("steps").get(0);
        assertEquals("a", a.get("step").asText());
        assertEquals("ok", a.get("status").asText());
        assertEquals(0, a.get("exit_code").asInt());
        assertEquals(dir.resolve("work/a/a.txt").toString(), a.get("outputs").get(0).asText());
        assertEquals(64, a.get("hash").asText().length());
        assertTrue(a.has("start") && a.has("end"));
    }

    @Test
    void aFailedStepStopsTheRunAndSaysWhy() throws Exception {
        Workflow wf = workflow("""
                  - id: d
                    op: t.copy
                    needs: [c]
                    params:
                      in: ${c}/c.txt
                      out: d.txt
                      fail: true
                  - id: e
                    op: t.make
                    needs: [d]
                    params:
                      out: e.txt
                      n: 1
                """);
        WorkflowException e = assertThrows(WorkflowException.class, () -> run(wf, false));
        assertEquals("step 'd' (t.copy) failed with exit code 1: ssmtk t copy: --in broke (log: " + dir.resolve("work/d.log") + ")", e.getMessage());
        assertEquals(4, calls.size());
        assertTrue(Files.exists(dir.resolve("work/c/c.txt")), "earlier results stay");
        assertFalse(Files.exists(dir.resolve("work/e")));
        JsonNode steps = new ObjectMapper().readTree(dir.resolve("work/run.json").toFile()).get("steps");
        assertEquals(4, steps.size());
        assertEquals("failed", steps.get(3).get("status").asText());
        assertEquals(1, steps.get(3).get("exit_code").asInt());
        assertTrue(Files.readString(dir.resolve("work/d.log")).contains("--in broke"));

        // Resume re-runs only the failed step onwards.
        calls.clear();
        assertThrows(WorkflowException.class, () -> run(wf, true));
        assertEquals(1, calls.size());
        assertTrue(calls.getFirst().startsWith("t copy --in " + dir.resolve("work/c/c.txt") + " --out " + dir.resolve("work/d/d.txt") + " --fail"), calls.getFirst());
    }
}
