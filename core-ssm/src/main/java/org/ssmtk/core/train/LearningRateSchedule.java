package org.ssmtk.core.train;

/**
 * Linear warmup from 0 to the peak over warmupSteps, then cosine decay to minLr at totalSteps
 * (and minLr after). Steps count from 1, as optimizer steps do.
 */
public record LearningRateSchedule(double peakLr, double minLr, int warmupSteps, int totalSteps) {
    public LearningRateSchedule {
        if (!(peakLr > 0)) throw new IllegalArgumentException("learning rate must be positive, got " + peakLr);
        if (minLr < 0 || minLr > peakLr) throw new IllegalArgumentException("minimum learning rate must be in [0, lr], got " + minLr);
        if (warmupSteps < 0 || totalSteps < 1) throw new IllegalArgumentException("warmup must be >= 0 and total steps >= 1");
    }

    public double at(long step) {
        if (step <= warmupSteps) return peakLr * step / Math.max(1, warmupSteps);
        if (step >= totalSteps) return minLr;
        double progress = (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
        return minLr + 0.5 * (peakLr - minLr) * (1 + Math.cos(Math.PI * progress));
    }
}
