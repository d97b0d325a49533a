package org.ssmtk.workflows.nextflow;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.UncheckedIOException;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code nextflow_schema.json} for an exported pipeline (JSON Schema 2020-12, the form nf-schema reads):
 * one property per param with its type and default, read back from the {@code params} block
 * {@link NextflowExport} wrote, so the schema cannot disagree with the config. File params are
 * {@code format: file-path}; {@code id}, {@code outdir}, {@code container} and {@code queue} are the
 * pipeline's own.
 */
final class NextflowSchema {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern LINE = Pattern.compile("^ {4}(\\w+) = (.*?)(\\s+//.*)?$");
    private static final Pattern INTEGER = Pattern.compile("-?(0|[1-9][0-9]*)");

    private NextflowSchema() {}

    /** @param params the params block's lines; @param fileParams the names holding input paths */
    static String of(String name, String description, String params, Set<String> fileParams) {
        ObjectNode root = JSON.createObjectNode();
        root.put("$schema", "https://json-schema.org/draft/2020-12/schema").put("title", name + " pipeline parameters")
                .put("description", description).put("type", "object");
        ObjectNode props = root.putObject("properties");
        for (String line : params.split("\n")) {
            Matcher m = LINE.matcher(line);
            if (!m.matches()) continue;
            String key = m.group(1), value = m.group(2);
            ObjectNode p = props.putObject(key);
            if (key.endsWith("_scatter") && m.group(3) != null && m.group(3).contains("clips per shard")) {   // --scatter-clips
                p.put("type", "integer").put("minimum", 1).put("default", Long.parseLong(value));
            } else if (key.endsWith("_scatter")) {   // --scatter: 'contigs' or bases per shard
                p.putArray("anyOf").add(JSON.createObjectNode().put("type", "integer").put("minimum", 1)).add(JSON.createObjectNode().put("const", "contigs"));
                p.putPOJO("default", value.startsWith("'") ? value.substring(1, value.length() - 1) : Long.valueOf(value));
            } else if (value.equals("null")) {
                p.put("type", "string");
                if (fileParams.contains(key)) p.put("format", "file-path").put("exists", true); // no default: --param or a samplesheet column
            } else if (value.equals("true") || value.equals("false")) {
                p.put("type", "boolean").put("default", Boolean.parseBoolean(value));
            } else if (value.startsWith("'")) {
                p.put("type", "string").put("default", value.substring(1, value.length() - 1).replace("\\'", "'").replace("\\\\", "\\"));
                if (fileParams.contains(key)) p.put("format", "file-path").put("exists", true);
            } else if (INTEGER.matcher(value).matches()) {
                p.put("type", "integer").put("default", Long.parseLong(value));
            } else {
                p.put("type", "number").put("default", new java.math.BigDecimal(value));
            }
            if (m.group(3) != null) p.put("description", m.group(3).strip().substring(2).strip());
        }
        try {
            return JSON.writeValueAsString(root) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
