package org.ssmtk.core.architecture;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * core-ssm's packages depend one way: this reads every import of the main sources (and every
 * fully-qualified {@code org.ssmtk.core.x.Y} reference in code) and fails on a cycle between packages,
 * naming it. A sub-package is a package of its own: {@code backend.cpu} may import {@code backend},
 * but then {@code backend} must not import {@code backend.cpu}.
 */
class PackageCycleTest {
    private static final Path SOURCES = Path.of("src/main/java");
    private static final Pattern REFERENCE = Pattern.compile("\\b(org\\.ssmtk\\.core(?:\\.[a-z][a-z0-9]*)+)\\.[A-Z]");

    @Test
    void corePackagesFormNoCycle() {
        Map<String, Set<String>> graph = dependencies(SOURCES);
        assertTrue(graph.size() > 8, "read too few packages from " + SOURCES.toAbsolutePath() + ": " + graph.keySet());
        List<String> cycle = findCycle(graph);
        assertTrue(cycle.isEmpty(), "package cycle: " + String.join(" -> ", cycle));
    }

    @Test
    void aPlantedCycleIsFound() {
        Map<String, Set<String>> g = new TreeMap<>();
        g.put("a", new TreeSet<>(Set.of("b")));
        g.put("b", new TreeSet<>(Set.of("c")));
        g.put("c", new TreeSet<>(Set.of("a")));
        g.put("d", new TreeSet<>(Set.of("a")));
        assertEquals(List.of("a", "b", "c", "a"), findCycle(g));
        g.get("c").clear();
        assertTrue(findCycle(g).isEmpty());
    }

    /** Package -> the other core packages its main sources refer to. */
    static Map<String, Set<String>> dependencies(Path root) {
        Map<String, Set<String>> graph = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = root.relativize(f.getParent()).toString().replace('/', '.');
                Set<String> deps = graph.computeIfAbsent(pkg, k -> new TreeSet<>());
                String text = Files.readString(f).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
                Matcher m = REFERENCE.matcher(text);
                while (m.find()) if (!m.group(1).equals(pkg)) deps.add(m.group(1));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return graph;
    }

    /** A cycle as a closed path (first = last), or empty; depth-first, deterministic order. */
    static List<String> findCycle(Map<String, Set<String>> graph) {
        Map<String, Integer> state = new TreeMap<>(); // 1 = on the stack, 2 = done
        for (String start : graph.keySet()) {
            List<String> path = new ArrayList<>();
            List<String> c = visit(start, graph, state, path);
            if (!c.isEmpty()) return c;
        }
        return List.of();
    }

    private static List<String> visit(String p, Map<String, Set<String>> graph, Map<String, Integer> state, List<String> path) {
        Integer s = state.get(p);
        if (s != null && s == 2) return List.of();
        if (s != null && s == 1) {
            List<String> cycle = new ArrayList<>(path.subList(path.indexOf(p), path.size()));
            cycle.add(p);
            return cycle;
        }
        state.put(p, 1);
        path.add(p);
        for (String q : graph.getOrDefault(p, Set.of())) {
            List<String> c = visit(q, graph, state, path);
            if (!c.isEmpty()) return c;
        }
        path.remove(path.size() - 1);
        state.put(p, 2);
        return List.of();
    }
}
