package org.ssmtk.audio.io;

import org.ssmtk.core.io.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Writes 16-bit PCM mono WAV, atomically (a temporary file renamed into place), so that a reader
 * never sees half a file after an interrupted generation.
 */
public final class WavWriter {
    private WavWriter() {}

    /** Samples are clipped to [-1, 1] rather than wrapped, which would turn overshoot into loud clicks. */
    public static void write(Path file, float[] samples, int sampleRate) throws IOException {
        if (sampleRate < 1) throw new IllegalArgumentException("sample rate must be positive, got " + sampleRate);
        int dataBytes = samples.length * 2;
        ByteBuffer b = ByteBuffer.allocate(44 + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0x46464952).putInt(36 + dataBytes).putInt(0x45564157);
        b.putInt(0x20746d66).putInt(16).putShort((short) 1).putShort((short) 1).putInt(sampleRate).putInt(sampleRate * 2)
                .putShort((short) 2).putShort((short) 16);
        b.putInt(0x61746164).putInt(dataBytes);
        for (float s : samples) {
            double c = Math.max(-1, Math.min(1, Float.isNaN(s) ? 0 : s));
            b.putShort((short) Math.max(-32768, Math.min(32767, Math.round(c * 32768))));
        }
        AtomicFiles.write(file, out -> out.write(b.array()));
    }
}
