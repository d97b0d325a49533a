package org.ssmtk.core.nn;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.io.SafeTensorsReader;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --weights int8 against transformers' float64 logits: the error the quantization costs (goal below
 * 1e-2 relative) and that it is a real quantization (not zero: the int8 path ran).
 */
class Int8WeightsTest {
    @Test
    void int8LogitsStayWithinOnePercentOfTheReference() throws Exception {
        MambaCheckpoint ckpt = MambaCheckpoint.load(Fixtures.dir("tiny-mamba"));
        try (SafeTensorsReader ref = SafeTensorsReader.open(Fixtures.dir("tiny-mamba").resolve("reference.safetensors"));
             CpuBackend cpu = new CpuBackend(2)) {
            int[] shape = ref.info("input_ids").intShape();
            int[] ids = Fixtures.toInts(ref.longs("input_ids"));
            double[] logits = ref.doubles("logits");
            MambaModel fp32 = MambaModel.load(cpu, ckpt), int8 = MambaModel.load(cpu, ckpt, WeightFormat.INT8);
            double e32 = Fixtures.relativeError(fp32.forward(ids, shape[0], shape[1]), logits);
            double e8 = Fixtures.relativeError(int8.forward(ids, shape[0], shape[1]), logits);
            System.out.printf("tiny-mamba logits vs transformers: fp32 %.2e, int8 %.2e%n", e32, e8);
            assertTrue(e8 < 1e-2, "int8 relative error " + e8);
            assertTrue(e8 > 10 * e32, "int8 logits equal fp32's (" + e8 + " vs " + e32 + "): were the weights quantized?");
            // decoding through the recurrent state with int8 weights equals the int8 full forward
            MambaState state = int8.newState(1);
            float[] full = int8.forward(java.util.Arrays.copyOf(ids, shape[1]), 1, shape[1]);
            float[] last = null;
            for (int t = 0; t < shape[1]; t++) last = int8.step(new int[]{ids[t]}, state);
            int v = ckpt.config().paddedVocabSize();
            Fixtures.assertClose("int8 step vs full forward", last,
                    java.util.Arrays.copyOfRange(full, (shape[1] - 1) * v, shape[1] * v), 1e-5);
            assertThrows(IllegalStateException.class, int8::newGradients);
        }
    }
}
