package org.ssmtk.workflows.descriptor;

import java.util.Map;
import java.util.Set;

/**
 * The operations a descriptor may name ({@code group.command}) and their options. The CLI implements
 * it from its registered commands, so this module never depends on the CLI and a descriptor can only
 * call what {@code ssmtk} itself offers: there is no shell step.
 */
public interface OpCatalog {
    Set<String> ops();

    /** The options of {@code op}, by long name; null when the op is unknown. */
    Map<String, ParamSpec> params(String op);
}
