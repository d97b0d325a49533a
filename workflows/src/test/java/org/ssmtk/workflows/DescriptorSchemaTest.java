package org.ssmtk.workflows;

import com.fasterxml.jackson.databind.JsonNode;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import org.junit.jupiter.api.Test;
import org.ssmtk.workflows.descriptor.DescriptorSchema;
import org.ssmtk.workflows.descriptor.WorkflowException;
import org.yaml.snakeyaml.Yaml;

import java.io.StringReader;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** workflow.schema.json with the op catalog, through networknt's validator: one test per class of error. */
class DescriptorSchemaTest {
    final DescriptorSchema schema = new DescriptorSchema(FakeOps.INSTANCE);

    String error(String yaml) {
        return assertThrows(WorkflowException.class, () -> schema.validate(new Yaml().compose(new StringReader(yaml)), "F")).getMessage();
    }

    @Test
    void bothSchemasAreValidDraft202012() {
        JsonSchemaFactory f = JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
        var meta = f.getSchema(SchemaLocation.of("https://json-schema.org/draft/2020-12/schema"));
        for (JsonNode s : new JsonNode[]{DescriptorSchema.base(), DescriptorSchema.full(FakeOps.INSTANCE)}) {
            Set<ValidationMessage> m = meta.validate(s);
            assertTrue(m.isEmpty(), m.toString());
        }
        assertEquals("t.copy", DescriptorSchema.full(FakeOps.INSTANCE).at("/$defs/step/properties/op/enum/0").asText());
    }

    @Test
    void validDescriptorPasses() {
        assertDoesNotThrow(() -> schema.validate(new Yaml().compose(new StringReader("""
                name: ok
                inputs: [../data]
                steps:
                  - id: a
                    op: t.make
                    params: {out: a.txt, n: 3, fail: false, label: [A=x, B=y]}
                  - id: b
                    op: t.copy
                    needs: a
                    params: {out: b.txt, in: x}
                """)), "F"));
    }

    @Test
    void unknownKeys() {
        assertEquals("F:1:1: unknown key 'nmae' in the descriptor (allowed: inputs, name, steps)", error("nmae: x\nsteps: [{id: a, op: t.make, params: {out: o}}]\n"));
        assertEquals("F:4:5: unknown key 'need' in step 'a' (allowed: id, needs, op, params)", error("steps:\n  - id: a\n    op: t.make\n    need: [b]\n    params: {out: o}\n"));
        assertEquals("F:4:22: step 'a': unknown param 'steps' for t.make (known: fail, in, label, n, out)",
                error("steps:\n  - id: a\n    op: t.make\n    params: {out: o, steps: 3}\n"));
    }

    @Test
    void wrongTypes() {
        assertEquals("F:1:8: 'steps' must be a list, not 'three'", error("steps: three\n"));
        assertEquals("F:1:7: 'name' must be a non-empty string, not a mapping", error("name: {a: 1}\nsteps: [{id: a, op: t.make, params: {out: o}}]\n"));
        assertEquals("F:3:12: step 'a': 'needs' must be a string or a list of strings, not a mapping",
                error("steps:\n  - id: a\n    needs: {b: 1}\n    op: t.make\n    params: {out: o}\n"));
        assertEquals("F:4:28: step 'a': param 'fail' is a flag: give true or false, not '1'", error("steps:\n  - id: a\n    op: t.make\n    params: {out: o, fail: 1}\n"));
        assertEquals("F:4:25: step 'a': param 'n' takes a value (a string or number, or a list of them), not 'true'",
                error("steps:\n  - id: a\n    op: t.make\n    params: {out: o, n: true}\n"));
        assertEquals("F:4:29: step 'a': param 'n' takes a value (a string or number, or a list of them), not a mapping in its list",
                error("steps:\n  - id: a\n    op: t.make\n    params: {out: o, n: [1, {x: 2}]}\n"));
        assertEquals("F:2:21: step 'a': 'params' must be a mapping, not a list", error("steps:\n  - {id: a, params: [1], op: t.make}\n"));
    }

    @Test
    void missingKeysAndInputs() {
        assertEquals("F:1:1: missing key 'steps'", error("name: x\n"));
        assertEquals("F:2:5: a step has no 'id'", error("steps:\n  - op: t.make\n    params: {out: o}\n"));
        assertEquals("F:2:5: step 'a' (t.make) is missing required param 'out'", error("steps:\n  - id: a\n    op: t.make\n"));
        assertEquals("F:2:5: step 'a' (t.make) is missing required param 'out'", error("steps:\n  - id: a\n    op: t.make\n    params: {n: 1}\n"));
    }

    @Test
    void unknownOpsBadIdsAndEmptyLists() {
        assertEquals("F:3:9: step 'a': unknown op 't.mak' (known: t.copy, t.make)", error("steps:\n  - id: a\n    op: t.mak\n"));
        assertEquals("F:2:9: step id '1a' must be a letter followed by letters, digits, '-' or '_'", error("steps:\n  - id: 1a\n    op: t.make\n    params: {out: o}\n"));
        assertEquals("F:1:8: 'steps' is empty", error("steps: []\n"));
        assertEquals("F:4:25: step 'a': param 'n' is an empty list", error("steps:\n  - id: a\n    op: t.make\n    params: {out: o, n: []}\n"));
    }
}
