package org.ssmtk.genomics.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.genomics.sample.HeldOutSplit;
import org.ssmtk.genomics.sample.Region;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BedIntervalsTest {
    static final Path DATA = Path.of("..", "test-data", "genomics");
    static final Map<String, Long> LENGTHS = Map.of("chr1", 6000L, "chr2", 3000L, "chrM", 500L);
    @TempDir
    Path dir;

    @Test
    void readsZeroBasedHalfOpenIntervals() throws IOException {
        List<BedIntervals.Interval> iv = BedIntervals.read(DATA.resolve("small.bed"), LENGTHS, DATA.resolve("small.fa"));
        assertEquals(List.of(new BedIntervals.Interval("chr1", 0, 3000), new BedIntervals.Interval("chr2", 500, 2500)), iv);
    }

    @Test
    void restrictsTrainingNotTheHeldOutTails() throws IOException {
        List<DnaSequence> seqs;
        try (FastaReference ref = FastaReference.open(DATA.resolve("small.fa"))) {
            seqs = ref.readAll();
        }
        List<BedIntervals.Interval> iv = List.of(new BedIntervals.Interval("chr1", 5000, 6000), new BedIntervals.Interval("chr2", 500, 2500));
        HeldOutSplit split = HeldOutSplit.tails(seqs, 0.1, iv);
        assertEquals(List.of("chr1:5000-5400", "chr2:500-2500"),
                split.train().stream().map(r -> r.contig() + ":" + r.start() + "-" + r.end()).toList());
        assertEquals(950, HeldOutSplit.bases(split.heldOut()));
        assertEquals(List.of("chr1", "chr2", "chrM"), split.heldOut().stream().map(Region::contig).toList());
    }

    @Test
    void errorsNameTheFileAndLine() throws IOException {
        Path fa = DATA.resolve("small.fa");
        Path other = Files.writeString(dir.resolve("other.bed"), "chr1\t0\t10\nchr9\t0\t10\n");
        assertEquals(other + ": line 2: contig 'chr9' is not in " + fa,
                assertThrows(FastaException.class, () -> BedIntervals.read(other, LENGTHS, fa)).getMessage());
        Path past = Files.writeString(dir.resolve("past.bed"), "chrM\t400\t501\n");
        assertEquals(past + ": line 1: chrM:400-501 runs past the contig's end (500 bases in " + fa + ")",
                assertThrows(FastaException.class, () -> BedIntervals.read(past, LENGTHS, fa)).getMessage());
        Path bad = Files.writeString(dir.resolve("bad.bed"), "chr1\tten\t20\n");
        String m = assertThrows(FastaException.class, () -> BedIntervals.read(bad, LENGTHS, fa)).getMessage();
        assertEquals(bad + ": line 1: ", m.substring(0, (bad + ": line 1: ").length()), m);
        Path empty = Files.writeString(dir.resolve("empty.bed"), "# nothing\n");
        assertEquals(empty + ": no intervals", assertThrows(FastaException.class, () -> BedIntervals.read(empty, LENGTHS, fa)).getMessage());
        Path reversed = Files.writeString(dir.resolve("rev.bed"), "chr1\t20\t10\n");
        assertThrows(FastaException.class, () -> BedIntervals.read(reversed, LENGTHS, fa));
    }
}
