package org.ssmtk.workflows.descriptor;

import java.util.List;
import java.util.Map;

/**
 * One step. {@code params} maps an option's long name to Boolean (a flag) or a list of strings (the
 * option repeated once per element), in descriptor order so the built command line is stable.
 */
public record Step(String id, String op, Map<String, Object> params, List<String> needs, int line) {
    public Step {
        params = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(params));
        needs = List.copyOf(needs);
    }
}
