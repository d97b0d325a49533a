package org.ssmtk.genomics.variant;

/**
 * What to do with a record whose REF contradicts the FASTA, as {@code bcftools norm --check-ref}:
 * stop with an error, warn and keep the record (with missing scores), or leave the record out.
 */
public enum CheckRef {
    ERROR("e"), WARN("w"), EXCLUDE("x");

    private final String code;

    CheckRef(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }

    public static CheckRef parse(String s) {
        for (CheckRef c : values()) if (c.code.equals(s)) return c;
        throw new IllegalArgumentException("--check-ref must be e (error), w (warn) or x (exclude), got '" + s + "'");
    }
}
