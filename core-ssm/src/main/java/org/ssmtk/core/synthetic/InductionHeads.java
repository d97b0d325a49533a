package org.ssmtk.core.synthetic;

import org.ssmtk.core.train.LanguageModelLoss;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Induction heads (associative recall): a sequence of random tokens contains the trigger token once,
 * followed by an answer token; the sequence ends with the trigger again, where the model must
 * output that answer. Models trained at one length are evaluated at far longer ones. Tokens:
 * 1 trigger, 2..15 ordinary (0 unused). The trigger's first occurrence is placed uniformly in the
 * sequence but before the last two positions.
 */
public record InductionHeads() implements SyntheticTask {
    public static final int TRIGGER = 1, FIRST_TOKEN = 2;

    @Override
    public String name() {
        return "induction-heads";
    }

    @Override
    public void example(SplittableRandom rnd, int len, int[] ids, int[] targets, int offset) {
        if (len < 4) throw new IllegalArgumentException("induction heads needs length >= 4, got " + len);
        Arrays.fill(targets, offset, offset + len, LanguageModelLoss.IGNORE);
        for (int i = 0; i < len; i++) ids[offset + i] = FIRST_TOKEN + rnd.nextInt(VOCAB - FIRST_TOKEN);
        int at = rnd.nextInt(len - 2);
        int answer = ids[offset + at + 1];
        ids[offset + at] = TRIGGER;
        ids[offset + len - 1] = TRIGGER;
        targets[offset + len - 1] = answer;
    }
}
