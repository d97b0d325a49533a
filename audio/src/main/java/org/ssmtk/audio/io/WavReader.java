package org.ssmtk.audio.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Decodes RIFF/WAVE files: PCM 8 (unsigned), 16, 24 and 32-bit (signed, little-endian), IEEE
 * float 32/64-bit and 8-bit G.711 mu-law and A-law (telephone recordings, and 1 byte per sample for
 * moving large sets), plain or WAVE_FORMAT_EXTENSIBLE, any channel count and sample rate. Channels are
 * mixed to mono by averaging them, so that a stereo recording keeps its level and neither channel
 * is preferred. Samples come out as floats in [-1, 1]. The RIFF chunks are parsed here rather than
 * through javax.sound so that truncation and unsupported encodings are reported precisely, per file.
 */
public final class WavReader {
    private WavReader() {}

    private static final int PCM = 1, FLOAT = 3, ALAW = 6, MULAW = 7, EXTENSIBLE = 0xFFFE;

    /** The 16-bit linear value of every G.711 code (ITU-T G.711's expansion), by format. */
    private static final short[] MULAW_LINEAR = new short[256], ALAW_LINEAR = new short[256];

    static {
        for (int code = 0; code < 256; code++) {
            // mu-law: bits are stored inverted; 3 exponent bits pick a segment, 4 mantissa bits a step in it,
            // and the bias of 132 makes the segments join (G.711 table 2a).
            int u = ~code & 0xFF, exponent = (u >> 4) & 7, mantissa = u & 15;
            int magnitude = (((mantissa << 3) + 132) << exponent) - 132;
            MULAW_LINEAR[code] = (short) ((u & 0x80) != 0 ? -magnitude : magnitude);
            // A-law: even bits are stored inverted (xor 0x55); segment 0 is linear, the others double each time,
            // and a set sign bit means positive (G.711 table 1a).
            int a = code ^ 0x55, seg = (a >> 4) & 7, step = a & 15;
            int m = seg == 0 ? (step << 4) + 8 : ((step << 4) + 0x108) << (seg - 1);
            ALAW_LINEAR[code] = (short) ((a & 0x80) != 0 ? m : -m);
        }
    }

    /** A decoded clip: mono samples at its own rate, and what it was stored as. */
    public record Clip(float[] samples, int sampleRate, int channels, int bitsPerSample, boolean floating) {
        public double seconds() {
            return samples.length / (double) sampleRate;
        }
    }

    public static Clip read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 12 || b.getInt(0) != 0x46464952 /* RIFF */ || b.getInt(8) != 0x45564157 /* WAVE */)
            throw new WavException(file, notWav(bytes));
        int format = -1, channels = 0, rate = 0, bits = 0, blockAlign = 0;
        int dataStart = -1, dataLength = 0;
        // long: a chunk size near 4 GiB must end the walk, not wrap the position around (found by ParserFuzzTest)
        long pos = 12;
        while (pos + 8 <= bytes.length) {
            int id = b.getInt((int) pos);
            long size = b.getInt((int) pos + 4) & 0xFFFFFFFFL;
            int body = (int) pos + 8;
            if (id == 0x20746d66) { // "fmt "
                if (size < 16 || body + 16 > bytes.length) throw new WavException(file, "truncated WAV: fmt chunk is cut short");
                format = b.getShort(body) & 0xFFFF;
                channels = b.getShort(body + 2) & 0xFFFF;
                rate = b.getInt(body + 4);
                blockAlign = b.getShort(body + 12) & 0xFFFF;
                bits = b.getShort(body + 14) & 0xFFFF;
                if (format == EXTENSIBLE) {
                    if (size < 40 || body + 26 > bytes.length) throw new WavException(file, "truncated WAV: extensible fmt chunk is cut short");
                    format = b.getShort(body + 24) & 0xFFFF; // the sub-format GUID starts with the plain format code
                }
            } else if (id == 0x61746164) { // "data"
                dataStart = body;
                long available = bytes.length - (long) body;
                if (size > available) throw new WavException(file, "truncated WAV: data chunk declares " + size + " bytes, " + available + " present");
                dataLength = (int) size;
                break;
            }
            pos = body + size + (size & 1); // chunks are padded to even sizes
        }
        if (format < 0) throw new WavException(file, "corrupt or truncated WAV: no fmt chunk");
        if (dataStart < 0) throw new WavException(file, "corrupt or truncated WAV: no data chunk");
        if (channels < 1) throw new WavException(file, "corrupt WAV: " + channels + " channels");
        if (rate < 1) throw new WavException(file, "corrupt WAV: sample rate " + rate);
        boolean floating;
        if (format == PCM && (bits == 8 || bits == 16 || bits == 24 || bits == 32)) floating = false;
        else if (format == FLOAT && (bits == 32 || bits == 64)) floating = true;
        else if ((format == MULAW || format == ALAW) && bits == 8) floating = false;
        else throw new WavException(file, "unsupported WAV encoding (" + encodingName(format) + ", format code " + format + ", " + bits
                + " bits); supported: PCM 8/16/24/32-bit, IEEE float 32/64-bit, 8-bit mu-law and A-law");
        int bytesPerSample = bits / 8;
        if (blockAlign != bytesPerSample * channels)
            throw new WavException(file, "corrupt WAV: block align " + blockAlign + " for " + channels + " x " + bits + "-bit");
        int frames = dataLength / blockAlign;
        if (frames == 0) throw new WavException(file, "zero-length clip: the WAV holds no samples");
        short[] g711 = format == MULAW ? MULAW_LINEAR : format == ALAW ? ALAW_LINEAR : null;
        float[] mono = new float[frames];
        for (int f = 0; f < frames; f++) {
            double sum = 0;
            for (int c = 0; c < channels; c++) {
                int at = dataStart + f * blockAlign + c * bytesPerSample;
                sum += g711 != null ? g711[b.get(at) & 0xFF] / 32768.0 : sample(b, at, bits, floating);
            }
            // a float WAV can hold NaN or infinities, which every score would turn into NaN: refuse them
            if (floating && !Double.isFinite(sum))
                throw new WavException(file, "sample " + f + " (at " + String.format(java.util.Locale.ROOT, "%.3f", f / (double) rate)
                        + " s) is not a finite number (NaN or infinity in a float WAV)");
            mono[f] = (float) (sum / channels);
        }
        return new Clip(mono, rate, channels, bits, floating);
    }

    private static String encodingName(int format) {
        return switch (format) {
            case PCM -> "integer PCM";
            case FLOAT -> "IEEE float";
            case 2, 0x11 -> "ADPCM";
            case 6 -> "A-law";
            case 7 -> "mu-law";
            case 0x50, 0x55 -> "MPEG audio";
            default -> "an unknown encoding";
        };
    }

    /**
     * Why a file without a RIFF/WAVE header cannot be read, naming the format when its magic bytes
     * say what it is: people hand over FLAC, MP3 and Ogg clips, and "not a WAV" alone does not tell
     * them what to do. FLAC is refused because Maven Central has no maintained pure-Java decoder
     * (the newest, org.jflac:jflac-codec 1.5.2, dates from 2017).
     */
    static String notWav(byte[] bytes) {
        String head = new String(bytes, 0, Math.min(bytes.length, 12), java.nio.charset.StandardCharsets.ISO_8859_1);
        if (head.startsWith("fLaC"))
            return "FLAC is not supported (no maintained pure-Java FLAC decoder); convert it to WAV first, e.g. flac -d FILE.flac";
        if (head.startsWith("OggS")) return "Ogg audio is not supported; convert it to WAV first";
        if (head.startsWith("ID3") || (bytes.length > 1 && (bytes[0] & 0xFF) == 0xFF && (bytes[1] & 0xE0) == 0xE0))
            return "MP3 is not supported; convert it to WAV first";
        if (head.startsWith("FORM") && head.length() >= 12 && head.substring(8).startsWith("AIF"))
            return "AIFF is not supported; convert it to WAV first";
        if (head.startsWith("RF64")) return "RF64 (WAV over 4 GiB) is not supported";
        if (head.startsWith("RIFF") && head.length() >= 12) return "a RIFF file of type '" + head.substring(8, 12).strip() + "', not WAVE";
        return "not a WAV file (no RIFF/WAVE header)";
    }

    private static double sample(ByteBuffer b, int at, int bits, boolean floating) {
        if (floating) return bits == 32 ? b.getFloat(at) : b.getDouble(at);
        return switch (bits) {
            case 8 -> ((b.get(at) & 0xFF) - 128) / 128.0; // 8-bit WAV is unsigned, centred on 128
            case 16 -> b.getShort(at) / 32768.0;
            case 24 -> ((b.get(at) & 0xFF) | (b.get(at + 1) & 0xFF) << 8 | b.get(at + 2) << 16) / 8388608.0;
            default -> b.getInt(at) / 2147483648.0;
        };
    }
}
