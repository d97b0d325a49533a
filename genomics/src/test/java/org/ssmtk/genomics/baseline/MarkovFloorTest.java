package org.ssmtk.genomics.baseline;

import org.junit.jupiter.api.Test;
import org.ssmtk.genomics.sample.Region;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class MarkovFloorTest {
    /** An order-1 chain with a known transition matrix: its entropy rate is what an order >= 1 floor must find. */
    @Test
    void findsTheEntropyRateOfAKnownChainOnTheHeldOutTargets() {
        double[][] p = {{0.7, 0.1, 0.1, 0.1}, {0.1, 0.7, 0.1, 0.1}, {0.1, 0.1, 0.7, 0.1}, {0.1, 0.1, 0.1, 0.7}};
        Random rnd = new Random(4);
        byte[] ids = new byte[400_000];
        int prev = 0;
        for (int i = 0; i < ids.length; i++) {
            double u = rnd.nextDouble(), acc = 0;
            int b = 3;
            for (int c = 0; c < 4; c++) if ((acc += p[prev][c]) > u) { b = c; break; }
            ids[i] = (byte) (DnaVocabulary.A + b);
            prev = b;
        }
        ids[350_010] = (byte) DnaVocabulary.N; // an N in the held-out part: not a target, and cuts the next context
        List<Region> train = List.of(new Region("c", ids, 0, 300_000)), held = List.of(new Region("c", ids, 300_000, 400_000));
        double rate = -(0.7 * Math.log(0.7) + 3 * 0.1 * Math.log(0.1)) / Math.log(2); // same for every row
        List<MarkovFloor.Result> r = MarkovFloor.evaluate(train, held, 1000, 1000, 0, 1, 3);
        assertEquals(2.0, r.get(0).bitsPerBase(), 0.01, "order 0: the bases are uniform");
        assertEquals(rate, r.get(1).bitsPerBase(), 0.01);
        assertEquals(rate, r.get(2).bitsPerBase(), 0.02);
        // targets: every window's bases after its first, less the N: 100 windows x 999 - 1
        assertEquals(100L * 999 - 1, r.get(1).bases());
    }
}
