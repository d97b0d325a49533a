package org.ssmtk.audio.sample;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.audio.AudioSettings;
import org.ssmtk.core.train.Batch;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SampleTest {
    @TempDir
    Path dir;

    static int[] ramp(int n, int from) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = (from + i) % 256;
        return a;
    }

    @Test
    void windowsAreDeterministicContiguousAndInsideClips() {
        ClipWindows w = ClipWindows.of(List.of(ramp(100, 0), ramp(10, 0), ramp(50, 100)), 16, 4, 7);
        assertEquals(85 + 35, w.windows(), "the 10-sample clip holds no window");
        Batch a = w.batch(3, 1), b = w.batch(3, 1);
        assertArrayEquals(a.ids(), b.ids());
        assertFalse(java.util.Arrays.equals(a.ids(), w.batch(4, 1).ids()));
        for (int r = 0; r < 4; r++)
            for (int t = 1; t < 16; t++) assertEquals((a.ids()[r * 16 + t - 1] + 1) % 256, a.ids()[r * 16 + t]);
        assertThrows(IllegalArgumentException.class, () -> ClipWindows.of(List.of(ramp(10, 0)), 16, 1, 0));
    }

    /** Issue 20: runs at different window lengths with one draw length see the same samples in the same order. */
    @Test
    void cutWindowsAreTheSameSamplesWhateverTheWindowLength() {
        List<int[]> clips = List.of(ramp(300, 0), ramp(40, 7), ramp(200, 50));
        ClipWindows whole = ClipWindows.cut(clips, 64, 64, 2, 5), quarters = ClipWindows.cut(clips, 64, 16, 8, 5);
        assertEquals(237 + 137, whole.windows(), "draw starts: the 40-sample clip holds no 64-sample draw");
        for (long step = 0; step < 5; step++) {
            Batch a = whole.batch(step, 0), b = quarters.batch(step, 0);
            assertEquals(2, a.batch());
            assertEquals(8, b.batch());
            assertEquals(16, b.len());
            assertArrayEquals(a.ids(), b.ids(), "step " + step);
            // each 64-sample stretch is contiguous, so its 16-sample windows are consecutive pieces of it
            for (int d = 0; d < 2; d++)
                for (int t = 1; t < 64; t++) assertEquals((b.ids()[d * 64 + t - 1] + 1) % 256, b.ids()[d * 64 + t]);
            // a window's last position has no target: the next window starts from a fresh state, not from this one's
            for (int r = 0; r < 8; r++) assertEquals(org.ssmtk.core.train.LanguageModelLoss.IGNORE, b.targets()[r * 16 + 15]);
        }
        // without cutting, the same seed draws the same stretches as before cutting existed
        assertArrayEquals(ClipWindows.of(clips, 64, 2, 5).batch(3, 0).ids(), whole.batch(3, 0).ids());
        assertThrows(IllegalArgumentException.class, () -> ClipWindows.cut(clips, 64, 24, 8, 5)); // 64 is not whole 24s
        assertThrows(IllegalArgumentException.class, () -> ClipWindows.cut(clips, 64, 16, 6, 5)); // 96 samples: 1.5 draws
        assertThrows(IllegalArgumentException.class, () -> ClipWindows.cut(clips, 512, 16, 32, 5)); // no clip holds 512
    }

    @Test
    void heldOutFilesOrTails() {
        HeldOut files = HeldOut.split(List.of(ramp(100, 0), ramp(100, 1), ramp(100, 2)), 1, 0.1);
        assertEquals(2, files.train().size());
        assertEquals(2, files.heldOut().get(0)[0]);
        HeldOut tails = HeldOut.split(List.of(ramp(100, 0)), 1, 0.1);
        assertEquals(90, tails.train().get(0).length);
        assertEquals(90, tails.heldOut().get(0)[0]);
    }

    @Test
    void settingsRoundTripAndRejectOthers() throws Exception {
        assertNull(AudioSettings.read(dir));
        new AudioSettings(8000, "mu-law").write(dir);
        assertEquals(new AudioSettings(8000, "mu-law"), AudioSettings.read(dir));
        Files.writeString(dir.resolve(AudioSettings.FILE), "{\"type\":\"other\"}");
        assertTrue(assertThrows(java.io.IOException.class, () -> AudioSettings.read(dir)).getMessage().contains(AudioSettings.FILE));
    }
}
