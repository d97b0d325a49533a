package org.ssmtk.genomics.io;

import htsjdk.samtools.util.IOUtil;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A TSV of FASTA record id to class label: two tab-separated columns per line, an optional header
 * line {@code id<TAB>label}, {@code #} comments. Ids are compared with record names as
 * {@link FastaReference} gives them (up to the first whitespace).
 */
public final class RecordLabels {
    private RecordLabels() {}

    /** Record id to label in file order; an id given twice, a line without two columns or an empty file is an error. */
    public static Map<String, String> read(Path tsv) throws IOException {
        if (!Files.isRegularFile(tsv)) throw new FastaException(tsv, Files.exists(tsv) ? "not a regular file" : "no such file");
        Map<String, String> out = new LinkedHashMap<>();
        try (BufferedReader in = IOUtil.openFileForBufferedReading(tsv)) {
            int lineNo = 0;
            for (String line; (line = in.readLine()) != null; ) {
                lineNo++;
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] cols = line.split("\t");
                if (cols.length < 2 || cols[0].isBlank() || cols[1].isBlank())
                    throw new FastaException(tsv, "line " + lineNo + ": wants record-id<TAB>label, got '" + abbreviate(line) + "'");
                String id = cols[0].trim(), label = cols[1].trim();
                if (lineNo == 1 && id.equalsIgnoreCase("id") && label.equalsIgnoreCase("label")) continue;
                if (out.put(id, label) != null) throw new FastaException(tsv, "line " + lineNo + ": record id '" + id + "' is labelled twice");
            }
        }
        if (out.isEmpty()) throw new FastaException(tsv, "no labels");
        return out;
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
