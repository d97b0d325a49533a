package org.ssmtk.core.backend.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the Java side reads from a committed PTX module, without a GPU: each entry's parameter types
 * (".u64", ".u32", ".f32") and the launch constants the kernel sources export with SSMTK_EXPORT
 * (common.cuh). Launchers take block sizes and shared-memory sizes from {@link #constant}, so the
 * kernel source is the one place those numbers are written.
 */
record PtxModule(String resource, String text, Map<String, List<String>> entries, Map<String, Integer> constants) {
    private static final Pattern ENTRY = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)");
    private static final Pattern PARAM = Pattern.compile("\\.param\\s+(\\.\\w+)\\s+\\w+");
    // nvcc leaves out the initializer of a zero (a .global is zero-initialized)
    private static final Pattern CONSTANT = Pattern.compile("\\.global\\s+\\.align\\s+4\\s+\\.u32\\s+ssmtk_(\\w+)\\s*(?:=\\s*(\\d+))?;");

    /** The module's resource beside this class (e.g. "scan_backward.ptx"), parsed. */
    static PtxModule load(String resource) {
        try (InputStream in = PtxModule.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("PTX resource " + resource + " is missing from the jar");
            return parse(resource, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + resource + ": " + e.getMessage(), e);
        }
    }

    static PtxModule parse(String resource, String text) {
        Map<String, List<String>> entries = new LinkedHashMap<>();
        Matcher m = ENTRY.matcher(text);
        while (m.find()) {
            List<String> types = new ArrayList<>();
            Matcher p = PARAM.matcher(m.group(2));
            while (p.find()) types.add(p.group(1));
            entries.put(m.group(1), List.copyOf(types));
        }
        Map<String, Integer> constants = new LinkedHashMap<>();
        Matcher c = CONSTANT.matcher(text);
        while (c.find()) constants.put(c.group(1), c.group(2) == null ? 0 : Integer.parseInt(c.group(2)));
        return new PtxModule(resource, text, Map.copyOf(entries), Map.copyOf(constants));
    }

    /** The value the module's source exported as ssmtk_NAME. */
    int constant(String name) {
        Integer v = constants.get(name);
        if (v == null) throw new IllegalStateException(resource + " exports no ssmtk_" + name + ": rebuild it with scripts/build-ptx.sh");
        return v;
    }
}
