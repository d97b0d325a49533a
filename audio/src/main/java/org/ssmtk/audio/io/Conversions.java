package org.ssmtk.audio.io;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.TreeMap;

/**
 * What reading did to a command's clips that the user did not ask for in so many words: channels
 * mixed to mono and sample rates converted. A command adds every clip it reads and prints one line,
 * so that a stereo 44.1 kHz folder is never silently turned into something else, and a folder of a
 * thousand clips does not print a thousand lines. Only counts are kept, not samples.
 */
public final class Conversions {
    private final int targetRate;
    private int clips, mixed, maxChannels;
    private final Map<Integer, Integer> resampledFrom = new TreeMap<>();

    /** @param targetRate the rate clips are read at; 0 when each is kept at its own rate */
    public Conversions(int targetRate) {
        this.targetRate = targetRate;
    }

    public synchronized AudioInput.Named add(AudioInput.Named n) {
        clips++;
        WavReader.Clip o = n.original();
        if (o.channels() > 1) {
            mixed++;
            maxChannels = Math.max(maxChannels, o.channels());
        }
        if (targetRate > 0 && o.sampleRate() != targetRate) resampledFrom.merge(o.sampleRate(), 1, Integer::sum);
        return n;
    }

    public List<AudioInput.Named> addAll(List<AudioInput.Named> all) {
        for (AudioInput.Named n : all) add(n);
        return all;
    }

    /** The one line, or null when every clip was mono and at the target rate. */
    public synchronized String note() {
        StringJoiner j = new StringJoiner("; ");
        if (mixed > 0)
            j.add(String.format(Locale.ROOT, "%d of %d clips had %s channels, mixed down to mono (mean of the channels)", mixed, clips,
                    maxChannels == 2 ? "2" : "2-" + maxChannels));
        if (!resampledFrom.isEmpty()) {
            int n = resampledFrom.values().stream().mapToInt(Integer::intValue).sum();
            StringJoiner from = new StringJoiner(", ");
            resampledFrom.forEach((rate, count) -> from.add(count == n ? rate + " Hz" : rate + " Hz: " + count));
            j.add(String.format(Locale.ROOT, "%d of %d clips resampled to %d Hz (from %s)", n, clips, targetRate, from));
        }
        return j.length() == 0 ? null : j.toString();
    }

    /** Prints {@code who: note} on err when there is something to say. */
    public void report(PrintStream err, String who) {
        String note = note();
        if (note != null) err.println(who + ": " + note);
    }
}
