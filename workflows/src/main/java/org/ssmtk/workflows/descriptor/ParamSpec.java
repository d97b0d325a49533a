package org.ssmtk.workflows.descriptor;

/**
 * One option of an operation, as the runner needs to know it: whether it takes a value and whether
 * that value is a path read (hashed into the cache key, kept inside the descriptor's folder) or written
 * (kept inside the step's work directory).
 */
public record ParamSpec(String name, Kind kind, boolean required) {
    public enum Kind {
        /** present or absent: YAML true/false */
        FLAG,
        /** a plain value: number, word */
        VALUE,
        /** a file or folder the step reads */
        INPUT,
        /** NAME=PATH, where PATH is read */
        LABELED_INPUT,
        /** a file or folder the step writes */
        OUTPUT
    }
}
