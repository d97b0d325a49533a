package org.ssmtk.workflows;

import org.ssmtk.workflows.descriptor.OpCatalog;
import org.ssmtk.workflows.descriptor.ParamSpec;
import org.ssmtk.workflows.descriptor.ParamSpec.Kind;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** Two ops shaped like the CLI's: t.make (reads --in, writes --out) and t.copy (same, plus --fail, --label NAME=FILE). */
final class FakeOps implements OpCatalog {
    static final FakeOps INSTANCE = new FakeOps();

    public Set<String> ops() {
        return Set.of("t.make", "t.copy");
    }

    public Map<String, ParamSpec> params(String op) {
        if (!ops().contains(op)) return null;
        Map<String, ParamSpec> m = new LinkedHashMap<>();
        m.put("in", new ParamSpec("in", Kind.INPUT, false));
        m.put("out", new ParamSpec("out", Kind.OUTPUT, true));
        m.put("n", new ParamSpec("n", Kind.VALUE, false));
        m.put("fail", new ParamSpec("fail", Kind.FLAG, false));
        m.put("label", new ParamSpec("label", Kind.LABELED_INPUT, false));
        return m;
    }
}
