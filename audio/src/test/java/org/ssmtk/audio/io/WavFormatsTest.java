package org.ssmtk.audio.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every WAV layout people hand over, written here byte by byte from known integer (or float) sample
 * values, then decoded: each decoded sample must be exactly the value written divided by the
 * format's full scale (the mean of the channels for stereo). A reader that swapped bytes, read 24-bit
 * samples unsigned, forgot 8-bit's offset of 128 or kept only the left channel fails here.
 */
class WavFormatsTest {
    @TempDir
    Path dir;

    /** A WAV with these frames (frames[f][c]) as raw integers of `bits` (or floats when `floating`). */
    static byte[] wav(int rate, int bits, boolean floating, boolean extensible, double[][] frames) {
        int channels = frames[0].length, bytes = bits / 8, blockAlign = bytes * channels;
        ByteBuffer data = ByteBuffer.allocate(frames.length * blockAlign).order(ByteOrder.LITTLE_ENDIAN);
        for (double[] frame : frames)
            for (double v : frame) {
                if (floating) {
                    if (bits == 32) data.putFloat((float) v);
                    else data.putDouble(v);
                    continue;
                }
                long x = (long) v;
                switch (bits) {
                    case 8 -> data.put((byte) (x + 128));
                    case 16 -> data.putShort((short) x);
                    case 24 -> data.put((byte) x).put((byte) (x >> 8)).put((byte) (x >> 16));
                    default -> data.putInt((int) x);
                }
            }
        int fmtSize = extensible ? 40 : 16;
        ByteBuffer b = ByteBuffer.allocate(12 + 8 + fmtSize + 8 + data.capacity()).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes()).putInt(b.capacity() - 8).put("WAVE".getBytes());
        b.put("fmt ".getBytes()).putInt(fmtSize).putShort((short) (extensible ? 0xFFFE : floating ? 3 : 1)).putShort((short) channels)
                .putInt(rate).putInt(rate * blockAlign).putShort((short) blockAlign).putShort((short) bits);
        if (extensible) // cbSize, valid bits, channel mask, then the sub-format GUID whose first two bytes are the format code
            b.putShort((short) 22).putShort((short) bits).putInt(channels == 1 ? 4 : 3).putShort((short) (floating ? 3 : 1))
                    .put(new byte[]{0, 0, 0, 0, 0x10, 0, (byte) 0x80, 0, 0, (byte) 0xAA, 0, 0x38, (byte) 0x9B, 0x71});
        b.put("data".getBytes()).putInt(data.capacity()).put(data.array());
        return b.array();
    }

    @ParameterizedTest(name = "{0}-bit {1}, {2} channel(s), extensible {3}")
    @CsvSource({"8,int,1,false", "8,int,2,false", "16,int,1,false", "16,int,2,false", "16,int,2,true", "24,int,1,false", "24,int,2,false",
            "24,int,2,true", "32,int,1,false", "32,int,2,false", "32,float,1,false", "32,float,2,false", "32,float,1,true", "64,float,2,false"})
    void decodedSamplesAreTheValuesWritten(int bits, String kind, int channels, boolean extensible) throws Exception {
        boolean floating = kind.equals("float");
        Random r = new Random(bits * 10L + channels);
        double scale = floating ? 1 : Math.pow(2, bits - 1);
        double[][] frames = new double[257][channels];
        for (double[] f : frames)
            for (int c = 0; c < channels; c++)
                f[c] = floating ? (float) (r.nextDouble() * 2 - 1) : Math.floor(r.nextDouble() * 2 * scale) - scale; // every code, both extremes likely
        if (!floating) { // the two extremes of the integer range, exactly
            frames[0][0] = -scale;
            frames[1][0] = scale - 1;
        }
        Path f = Files.write(dir.resolve(bits + kind + channels + ".wav"), wav(11025, bits, floating, extensible, frames));
        WavReader.Clip c = WavReader.read(f);
        assertEquals(11025, c.sampleRate());
        assertEquals(channels, c.channels());
        assertEquals(bits, c.bitsPerSample());
        assertEquals(floating, c.floating());
        assertEquals(frames.length, c.samples().length);
        for (int i = 0; i < frames.length; i++) {
            double want = 0;
            for (double v : frames[i]) want += v / scale;
            want /= channels;
            assertEquals((float) want, c.samples()[i], 0, "frame " + i);
        }
        if (!floating && channels == 1) assertEquals(-1.0f, c.samples()[0], 0, "full-scale negative is exactly -1");
    }

    /** Every G.711 code against CPython audioop's expansion (test-data/fixtures/g711, made by make_g711.py there). */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"mulaw,7,false", "alaw,6,false", "mulaw,7,true"})
    void g711CodesDecodeAsAudioopDoes(String law, int format, boolean extensible) throws Exception {
        com.fasterxml.jackson.databind.JsonNode ref = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(Path.of("..", "test-data", "fixtures", "g711", "g711.json").toFile()).get(law);
        double[][] frames = new double[256][1];
        for (int c = 0; c < 256; c++) frames[c][0] = c - 128; // the 8-bit writer adds 128 back: byte c
        byte[] bytes = wav(8000, 8, false, extensible, frames);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putShort(extensible ? 44 : 20, (short) format);
        WavReader.Clip clip = WavReader.read(Files.write(dir.resolve(law + ".wav"), bytes));
        for (int c = 0; c < 256; c++) assertEquals(ref.get(c).asInt() / 32768f, clip.samples()[c], 0, law + " code " + c);
    }

    @Test
    void conversionsAreOneLineWithCounts() throws Exception {
        double[][] mono = new double[100][1], stereo = new double[100][2];
        Path a = Files.write(dir.resolve("a.wav"), wav(8000, 16, false, false, mono));
        Path b = Files.write(dir.resolve("b.wav"), wav(44100, 24, false, false, stereo));
        Path c = Files.write(dir.resolve("c.wav"), wav(16000, 16, false, false, mono));

        Conversions none = new Conversions(16000);
        none.add(AudioInput.read(c, 16000));
        assertNull(none.note(), "a mono clip at the target rate needs no note");

        Conversions conv = new Conversions(16000);
        conv.addAll(AudioInput.readAll(dir, 16000));
        assertEquals("1 of 3 clips had 2 channels, mixed down to mono (mean of the channels); "
                + "2 of 3 clips resampled to 16000 Hz (from 8000 Hz: 1, 44100 Hz: 1)", conv.note());
        assertEquals(200, AudioInput.read(a, 16000).samples().length);
        assertEquals(Math.round(100 * 16000 / 44100.0), AudioInput.read(b, 16000).samples().length);

        Conversions own = new Conversions(0); // kept at their own rates: only the downmix is news
        own.add(AudioInput.read(b, 44100));
        assertEquals("1 of 1 clips had 2 channels, mixed down to mono (mean of the channels)", own.note());
    }

    @Test
    void otherFormatsAreNamedInOneLine() throws Exception {
        assertProblem("clip.flac", bytes("fLaC", 40), "FLAC is not supported");
        assertProblem("clip.ogg", bytes("OggS", 40), "Ogg audio is not supported");
        assertProblem("clip.mp3", bytes("ID3", 40), "MP3 is not supported");
        assertProblem("clip.aiff", bytes("FORM\0\0\0\0AIFF", 40), "AIFF is not supported");
        assertProblem("movie.avi", bytes("RIFF\0\0\0\0AVI ", 40), "a RIFF file of type 'AVI', not WAVE");
        byte[] adpcm = wav(8000, 8, false, false, new double[10][1]);
        ByteBuffer.wrap(adpcm).order(ByteOrder.LITTLE_ENDIAN).putShort(20, (short) 2).putShort(34, (short) 4);
        assertProblem("adpcm.wav", adpcm, "unsupported WAV encoding (ADPCM, format code 2, 4 bits)");
        byte[] twelve = wav(8000, 16, false, false, new double[10][1]);
        ByteBuffer.wrap(twelve).order(ByteOrder.LITTLE_ENDIAN).putShort(34, (short) 12);
        assertProblem("twelve.wav", twelve, "unsupported WAV encoding (integer PCM, format code 1, 12 bits)");
        byte[] cut = wav(8000, 24, false, false, new double[100][2]);
        assertProblem("cut.wav", java.util.Arrays.copyOf(cut, cut.length - 7), "truncated WAV: data chunk declares 600 bytes, 593 present");

        Path flacs = Files.createDirectories(dir.resolve("flacs"));
        Files.write(flacs.resolve("x.flac"), bytes("fLaC", 40));
        WavException e = assertThrows(WavException.class, () -> AudioInput.files(flacs));
        assertEquals(flacs + ": no *.wav files in this folder (1 *.flac: FLAC is not supported; convert to WAV first, e.g. flac -d)", e.getMessage());
    }

    private static byte[] bytes(String head, int length) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.writeBytes(head.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        o.writeBytes(new byte[length]);
        return o.toByteArray();
    }

    private void assertProblem(String name, byte[] content, String text) throws Exception {
        Path f = Files.write(dir.resolve(name), content);
        WavException e = assertThrows(WavException.class, () -> WavReader.read(f));
        assertTrue(e.getMessage().startsWith(f + ": ") && e.getMessage().contains(text) && !e.getMessage().contains("\n"), e.getMessage());
    }
}
