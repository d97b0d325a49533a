package org.ssmtk.cli;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.ssmtk.core.train.Trainer;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Shows training progress: a progress bar when stderr is a terminal, and otherwise (pipelines, CI,
 * Nextflow logs) one plain line every `every` steps, which logs keep readably.
 */
final class TrainingProgress implements Trainer.Listener, AutoCloseable {
    private final PrintStream err;
    private final String task;
    private final int every;
    private final boolean terminal;
    private ProgressBar bar;

    TrainingProgress(PrintStream err, String task, int every) {
        this.err = err;
        this.task = task;
        this.every = Math.max(1, every);
        this.terminal = System.console() != null && err == System.err;
    }

    @Override
    public void onStart(long firstStep, long lastStep) {
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(lastStep).setStyle(ProgressBarStyle.ASCII)
                    .setUpdateIntervalMillis(250).startsFrom(firstStep - 1, java.time.Duration.ZERO).build();
        } else {
            err.printf(Locale.ROOT, "%s: steps %d..%d%n", task, firstStep, lastStep);
        }
    }

    @Override
    public void onStep(Trainer.StepMetrics m) {
        if (bar != null) {
            bar.stepTo(m.step());
            bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f lr %.2e %.0f tok/s", m.loss(), m.lr(), m.tokensPerSecond()));
        } else if (m.step() % every == 0) {
            err.printf(Locale.ROOT, "%s: step %d loss %.4f lr %.3e grad-norm %.3f %.0f tok/s%n", task, m.step(), m.loss(), m.lr(),
                    m.gradNorm(), m.tokensPerSecond());
        }
    }

    @Override
    public void onCheckpoint(Path dir) {
        if (bar == null) err.println(task + ": checkpoint " + dir);
    }

    @Override
    public void onMessage(String line) {
        if (bar != null) bar.pause();
        err.println(task + ": " + line);
        if (bar != null) bar.resume();
    }

    @Override
    public void close() {
        if (bar != null) bar.close();
    }
}
