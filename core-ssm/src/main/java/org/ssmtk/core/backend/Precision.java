package org.ssmtk.core.backend;

import java.util.Locale;

/**
 * What a backend's matrix products ({@link Backend#linear}, {@link Backend#linearBackward}) compute
 * in. BF16 converts both operands to bf16 and runs the products on tensor cores with fp32
 * accumulation and fp32 output; parameters (the master weights), activations, gradients, the scan,
 * norms and the optimizer stay fp32 either way. Only the cuda backend offers BF16.
 */
public enum Precision {
    FP32, BF16;

    /** "fp32" or "bf16", as given to --precision. */
    public static Precision parse(String s) {
        return switch (s == null ? "" : s.trim().toLowerCase(Locale.ROOT)) {
            case "fp32" -> FP32;
            case "bf16" -> BF16;
            default -> throw new IllegalArgumentException("--precision must be bf16 or fp32, got '" + s + "'");
        };
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
