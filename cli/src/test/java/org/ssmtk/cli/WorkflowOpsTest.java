package org.ssmtk.cli;

import org.junit.jupiter.api.Test;
import org.ssmtk.workflows.descriptor.ParamSpec.Kind;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class WorkflowOpsTest {
    private final WorkflowOps ops = new WorkflowOps();

    private Kind kind(String op, String param) {
        return ops.params(op).get(param).kind();
    }

    @Test
    void pathOptionsAreKnownByWhatTheyDeclareNotByTheirArgumentNames() {
        // written: besides --out/--output, the side outputs a step's cache and Nextflow must carry
        assertEquals(Kind.OUTPUT, kind("dna.classify", "metrics"));
        assertEquals(Kind.OUTPUT, kind("dna.classify-reads", "bam-out"));
        assertEquals(Kind.OUTPUT, kind("audio.score", "frames"));
        assertEquals(Kind.OUTPUT, kind("audio.score", "plot"));
        assertEquals(Kind.OUTPUT, kind("dna.train-classifier", "out"));
        // read: their contents are hashed and they resolve against the descriptor's folder
        assertEquals(Kind.INPUT, kind("dna.classify-reads", "input"));
        assertEquals(Kind.INPUT, kind("audio.train-classifier", "manifest"));
        assertEquals(Kind.INPUT, kind("tensors.diff", "a"));
        assertEquals(Kind.LABELED_INPUT, kind("dna.train-classifier", "class"));
        // values stay values, whatever they are called
        assertEquals(Kind.VALUE, kind("dna.train-classifier", "seq-len"));
        assertEquals(Kind.VALUE, kind("model.generate", "prompt-ids"));
        assertEquals(Kind.FLAG, kind("dna.classify", "rc-average"));
        assertNull(ops.params("workflow.run"), "a step cannot run a workflow");
    }
}
