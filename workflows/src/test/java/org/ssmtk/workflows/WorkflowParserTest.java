package org.ssmtk.workflows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.workflows.descriptor.Workflow;
import org.ssmtk.workflows.descriptor.WorkflowException;
import org.ssmtk.workflows.descriptor.WorkflowParser;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class WorkflowParserTest {
    @TempDir
    Path dir;

    Path write(String yaml) throws Exception {
        Path d = Files.createDirectories(dir.resolve("wf"));
        Path f = d.resolve("w.yaml");
        Files.writeString(f, yaml);
        return f;
    }

    String error(String yaml) throws Exception {
        Path f = write(yaml);
        return assertThrows(WorkflowException.class, () -> WorkflowParser.parse(f, FakeOps.INSTANCE)).getMessage().replace(f.toString(), "F");
    }

    @Test
    void validDescriptorIsOrderedByNeeds() throws Exception {
        Path f = write("""
                name: demo
                steps:
                  - id: second
                    op: t.copy
                    needs: [first]
                    params:
                      in: ${first}/a.txt
                      out: b.txt
                      fail: false
                  - id: first
                    op: t.make
                    params: {out: a.txt, n: 3}
                """);
        Workflow wf = WorkflowParser.parse(f, FakeOps.INSTANCE);
        assertEquals("demo", wf.name());
        assertEquals(List.of("first", "second"), wf.steps().stream().map(s -> s.id()).toList());
        assertEquals(List.of("3"), wf.step("first").params().get("n"));
        assertEquals(false, wf.step("second").params().get("fail"));
        assertEquals("""
                flowchart TD
                  s_first["first<br/>t.make"]
                  s_second["second<br/>t.copy"]
                  s_first --> s_second
                """, wf.mermaid());
    }

    @Test
    void unknownKeysNameLineAndColumn() throws Exception {
        assertEquals("F:3:5: unknown key 'opp' in step 'a' (allowed: id, needs, op, params)",
                error("steps:\n  - id: a\n    opp: t.make\n"));
        assertEquals("F:1:1: unknown key 'step' in the descriptor (allowed: inputs, name, steps)", error("step: []\n"));
        assertEquals("F:4:22: step 'a': unknown param 'outt' for t.make (known: fail, in, label, n, out)",
                error("steps:\n  - id: a\n    op: t.make\n    params: {out: x, outt: y}\n"));
    }

    @Test
    void wrongTypes() throws Exception {
        assertEquals("F:4:28: step 'a': param 'fail' is a flag: give true or false, not 'yes please'",
                error("steps:\n  - id: a\n    op: t.make\n    params: {out: x, fail: yes please}\n"));
        assertEquals("F:4:25: step 'a': param 'n' takes a value (a string or number, or a list of them), not a mapping",
                error("steps:\n  - id: a\n    op: t.make\n    params: {out: x, n: {a: 1}}\n"));
        assertEquals("F:1:8: 'steps' must be a list, not 'three'", error("steps: three\n"));
        assertEquals("F:2:5: step 'a' (t.make) is missing required param 'out'", error("steps:\n  - id: a\n    op: t.make\n"));
    }

    @Test
    void yamlSyntaxErrorsHaveAPosition() throws Exception {
        String m = error("steps:\n  - id: a\n    op: [t.make\n");
        assertEquals(true, m.startsWith("F:4:1: invalid YAML: "), m);
    }

    @Test
    void unknownOpAndNeeds() throws Exception {
        assertEquals("F:3:9: step 'a': unknown op 'dna.train' (known: t.copy, t.make)", error("steps:\n  - id: a\n    op: dna.train\n"));
        assertEquals("F:4:12: step 'a' needs unknown step 'b'",
                error("steps:\n  - id: a\n    op: t.make\n    needs: [b]\n    params: {out: x}\n"));
    }

    @Test
    void cyclesAreNamed() throws Exception {
        assertEquals("F:5: cycle in needs: b -> c -> d -> b", error("""
                steps:
                  - id: a
                    op: t.make
                    params: {out: x}
                  - id: b
                    op: t.make
                    needs: [a, d]
                    params: {out: x}
                  - id: c
                    op: t.make
                    needs: [b]
                    params: {out: x}
                  - id: d
                    op: t.make
                    needs: [c]
                    params: {out: x}
                """));
    }

    @Test
    void pathsMayNotEscapeUnlessDeclared() throws Exception {
        Path folder = dir.resolve("wf");
        assertEquals("F:2: step 'a': param 'in' '../data/x.fa' escapes the descriptor's folder " + folder
                        + " (declare it under 'inputs' to allow it)",
                error("steps:\n  - id: a\n    op: t.make\n    params: {out: x, in: ../data/x.fa}\n"));
        assertEquals("F:2: step 'a': param 'label' '" + dir.resolve("secret") + "' escapes the descriptor's folder " + folder
                        + " (declare it under 'inputs' to allow it)",
                error("steps:\n  - id: a\n    op: t.make\n    params: {out: x, label: [A=ok.fa, B=" + dir.resolve("secret") + "]}\n")
                        .replace("'B=", "'"));
        assertEquals("F:2: step 'a': param 'out' '../x': an output must be a relative path inside the step's work directory",
                error("steps:\n  - id: a\n    op: t.make\n    params: {out: ../x}\n"));
        assertEquals("F:5: step 'b': param 'in' '${a}/x' refers to step 'a', which this step does not need (add it to needs)",
                error("steps:\n  - id: a\n    op: t.make\n    params: {out: x}\n"
                        + "  - id: b\n    op: t.make\n    params:\n      out: y\n      in: ${a}/x\n"));
        Path f = write("inputs: [../data]\nsteps:\n  - id: a\n    op: t.make\n    params: {out: x, in: ../data/x.fa}\n");
        WorkflowParser.parse(f, FakeOps.INSTANCE);
    }
}
