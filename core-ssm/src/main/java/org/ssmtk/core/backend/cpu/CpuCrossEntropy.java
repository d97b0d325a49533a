package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static org.ssmtk.core.backend.cpu.VectorMath.S;

/**
 * One row's softmax cross-entropy without a gradient (Backend#crossEntropyRows): a vector pass for
 * the max, a vector pass of {@link VectorMath#exp} for the sum. The exps (within 2 ulp) are summed in
 * float lanes, so a 256-code row's log-sum lands within about 1e-6 of the double loop's; logZ and the
 * loss are formed in double as there.
 */
final class CpuCrossEntropy {
    private CpuCrossEntropy() {}

    /** -log softmax(a[o, o + width))[target], in nats. */
    static double rowLoss(float[] a, int o, int width, int target) {
        int lanes = S.length(), bound = S.loopBound(width), j = 0;
        float max = Float.NEGATIVE_INFINITY;
        if (bound > 0) {
            FloatVector m = FloatVector.fromArray(S, a, o);
            for (j = lanes; j < bound; j += lanes) m = m.max(FloatVector.fromArray(S, a, o + j));
            max = m.reduceLanes(VectorOperators.MAX);
        }
        for (; j < width; j++) max = Math.max(max, a[o + j]);
        FloatVector mv = FloatVector.broadcast(S, max), s = FloatVector.zero(S);
        for (j = 0; j < bound; j += lanes) s = s.add(VectorMath.exp(FloatVector.fromArray(S, a, o + j).sub(mv)));
        double sum = VectorMath.sum(s);
        for (; j < width; j++) sum += Math.exp(a[o + j] - max);
        return max + Math.log(sum) - a[o + target];
    }
}
