package org.ssmtk.cli;

import org.junit.jupiter.api.Test;
import org.ssmtk.workflows.descriptor.ParamSpec;
import org.yaml.snakeyaml.Yaml;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shipped nf-core-style modules (modules/ssmtk) against this build's commands, so a renamed
 * command or option fails here rather than on someone's cluster: every `ssmtk group command` a module
 * runs exists, every --option it passes is one of that command's, its process name follows nf-core's
 * TOOL_SUBTOOL form, meta.yml names the same outputs the process emits, and an nf-test test with a
 * snapshot sits in its tests/. (scripts/nextflow-check.sh runs them with real Nextflow and nf-test.)
 */
class NextflowModulesTest {
    static final Path MODULES = DnaCommandsTest.DATA.resolve("../../modules/ssmtk").normalize();
    static final Pattern COMMAND = Pattern.compile("\\bssmtk ([a-z]+) ([a-z-]+)\\b");
    static final Pattern OPTION = Pattern.compile("(?<![\\w-])--([a-z][a-z0-9-]*)");
    static final Pattern EMIT = Pattern.compile("emit:\\s*(\\w+)");

    @Test
    void modulesCallRealCommandsWithRealOptions() throws Exception {
        WorkflowOps ops = new WorkflowOps();
        List<Path> modules;
        try (Stream<Path> s = Files.list(MODULES)) {
            modules = s.filter(p -> Files.isRegularFile(p.resolve("meta.yml"))).sorted().toList(); // tests/ is a pipeline, not a module
        }
        assertTrue(modules.size() >= 7, "modules: " + modules);
        Set<String> seen = new LinkedHashSet<>();
        for (Path m : modules) {
            String nf = Files.readString(m.resolve("main.nf"));
            String script = nf.substring(nf.indexOf("script:"), nf.indexOf("stub:"));
            Matcher c = COMMAND.matcher(script);
            assertTrue(c.find(), m + ": runs no ssmtk command");
            String op = c.group(1) + "." + c.group(2);
            Map<String, ParamSpec> params = ops.params(op);
            assertNotNull(params, m + ": ssmtk " + c.group(1) + " " + c.group(2) + " is not a command");
            assertEquals(m.getFileName().toString(), (c.group(1) + c.group(2)).replace("-", ""), m + ": folder should be <group><command> without dashes");
            assertTrue(nf.contains("process SSMTK_" + m.getFileName().toString().toUpperCase() + " {"), m + ": process name");
            // the command, and the Groovy lines before it that build optional arguments (versions come from the output's eval)
            String command = script;
            Matcher o = OPTION.matcher(command);
            List<String> used = new ArrayList<>();
            while (o.find()) used.add(o.group(1));
            for (String opt : used) assertTrue(params.containsKey(opt), m + ": ssmtk " + op + " has no --" + opt + " (has " + params.keySet() + ")");
            for (ParamSpec p : params.values())
                if (p.required()) assertTrue(used.contains(p.name()), m + ": required --" + p.name() + " is not passed");

            Matcher e = EMIT.matcher(nf);
            List<String> emits = new ArrayList<>();
            while (e.find()) emits.add(e.group(1));
            Map<String, Object> meta = new Yaml().load(Files.readString(m.resolve("meta.yml")));
            assertEquals("ssmtk_" + m.getFileName(), meta.get("name"));
            List<String> declared = new ArrayList<>();
            for (Object out : (List<?>) meta.get("output")) declared.addAll(((Map<String, ?>) out).keySet());
            assertEquals(emits, declared, m + ": meta.yml outputs vs emit: names");
            // nf-core's topic-channel versions: the tool's version evaluated by Nextflow, no versions.yml heredoc
            assertTrue(emits.contains("versions_ssmtk"), m + ": no versions_ssmtk");
            assertTrue(nf.contains("eval('ssmtk --version | sed \"s/^ssmtk //\"'), emit: versions_ssmtk, topic: versions"), m + ": versions topic");
            assertFalse(nf.contains("END_VERSIONS"), m + ": versions.yml heredoc left");
            assertTrue(meta.containsKey("topics"), m + ": meta.yml has no topics");
            // nf-core's conda environment beside the module, named by the process
            assertTrue(nf.contains("\n    conda \"${moduleDir}/environment.yml\"\n"), m + ": no conda directive");
            // a command that runs a model takes the GPU when Nextflow gives the task an accelerator: the CUDA
            // image and --device cuda (unless ext.args already names a device)
            if (params.containsKey("device")) {
                assertTrue(nf.contains("container \"${ task.accelerator ? 'ssmtk:0.1.0-cuda' : 'ssmtk:0.1.0' }\""), m + ": no accelerator-chosen container");
                assertTrue(nf.contains("def device = task.accelerator && !args.contains('--device') ? '--device cuda' : ''")
                        && command.contains("${device}"), m + ": --device cuda is not passed on an accelerator");
            }
            Map<String, Object> env = new Yaml().load(Files.readString(m.resolve("environment.yml")));
            assertEquals(List.of("conda-forge::openjdk=25"), env.get("dependencies"), m + ": environment.yml");
            // every file input and output names its EDAM format
            String yml = Files.readString(m.resolve("meta.yml"));
            int files = yml.split("type: file", -1).length - 1, edam = yml.split("- edam: \"http://edamontology.org/format_", -1).length - 1;
            assertEquals(files, edam, m + ": a file in meta.yml without an EDAM format");
            assertFalse(nf.substring(nf.indexOf("stub:")).contains("ssmtk " + c.group(1)), m + ": a stub must not run the tool");
            // an nf-test test with its committed snapshot (nextflow-check runs them with --ci: none is written there)
            Path test = m.resolve("tests/main.nf.test");
            assertTrue(Files.isRegularFile(test) && Files.isRegularFile(m.resolve("tests/main.nf.test.snap")), m + ": no nf-test test with a snapshot");
            assertTrue(Files.readString(test).contains("process \"SSMTK_" + m.getFileName().toString().toUpperCase() + "\""), m + ": its nf-test tests another process");
            seen.add(op);
        }
        for (String op : List.of("dna.train-classifier", "dna.classify", "dna.score", "audio.train-lm", "audio.generate", "report.html"))
            assertTrue(seen.contains(op), "no module for " + op);
    }
}
