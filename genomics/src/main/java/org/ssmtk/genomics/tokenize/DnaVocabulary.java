package org.ssmtk.genomics.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;

/**
 * The character-level DNA vocabulary, one id per base:
 *
 * <pre>
 *   0 [PAD]   1 [BOS]   2 [EOS]   3 [MASK]
 *   4 A       5 C       6 G       7 T       8 N
 * </pre>
 *
 * Specials come first so that the bases keep their ids if specials are ever added at the end of
 * a later version; N is one token because ambiguity codes carry no base the model could learn.
 * A model trained on these ids carries the table as {@value #FILE} next to its config.json, so a
 * checkpoint read later (or by another tool) knows what its ids mean.
 */
public final class DnaVocabulary {
    public static final int PAD = 0, BOS = 1, EOS = 2, MASK = 3, A = 4, C = 5, G = 6, T = 7, N = 8;
    public static final int SIZE = 9;
    public static final String FILE = "dna_vocab.json";
    public static final String TYPE = "ssmtk-dna-character";
    public static final int VERSION = 1;

    private static final String[] TOKENS = {"[PAD]", "[BOS]", "[EOS]", "[MASK]", "A", "C", "G", "T", "N"};
    private static final byte[] BASE_TO_ID = new byte[256];
    private static final byte[] ID_TO_BASE = {0, 0, 0, 0, 'A', 'C', 'G', 'T', 'N'};
    private static final byte[] COMPLEMENT = {PAD, BOS, EOS, MASK, T, G, C, A, N};

    static {
        java.util.Arrays.fill(BASE_TO_ID, (byte) -1);
        for (int id = A; id <= N; id++) {
            BASE_TO_ID[ID_TO_BASE[id]] = (byte) id;
            BASE_TO_ID[Character.toLowerCase(ID_TO_BASE[id])] = (byte) id;
        }
    }

    private DnaVocabulary() {}

    /** The id of a base letter (A, C, G, T, N in either case). */
    public static int id(byte base) {
        int id = BASE_TO_ID[base & 0xff];
        if (id < 0) throw new IllegalArgumentException("'" + (char) (base & 0xff) + "' is not A, C, G, T or N");
        return id;
    }

    /** Ids of normalized bases (as {@link org.ssmtk.genomics.io.FastaReference} returns them), as bytes to keep genomes compact. */
    public static byte[] encode(byte[] bases) {
        byte[] ids = new byte[bases.length];
        for (int i = 0; i < bases.length; i++) ids[i] = (byte) id(bases[i]);
        return ids;
    }

    /**
     * Ids of a read's stored bases, which SAM and FASTQ allow to be any of {@code [A-Za-z=.]}: A, C, G, T
     * and N map as in {@link #encode}; IUPAC codes, '=' and '.' become N (the vocabulary has no other
     * "some base"), counted in {@code otherCodes[0]}. Anything else (a digit, '*' in the middle of a
     * sequence) is not a base: an IllegalArgumentException naming the character and position.
     */
    public static byte[] encodeRead(byte[] bases, long[] otherCodes) {
        byte[] ids = new byte[bases.length];
        for (int i = 0; i < bases.length; i++) {
            int b = bases[i] & 0xff, id = BASE_TO_ID[b];
            if (id < 0) {
                if (!(Character.isLetter(b) && b < 0x80) && b != '=' && b != '.')
                    throw new IllegalArgumentException("base " + (i + 1) + " is " + (b >= 0x20 && b < 0x7f ? "'" + (char) b + "'" : String.format("byte 0x%02x", b))
                            + ", not a SAM/FASTQ base letter");
                id = N;
                otherCodes[0]++;
            }
            ids[i] = (byte) id;
        }
        return ids;
    }

    /** Bases of ids; specials become '?' since they have no base. */
    public static String decode(int[] ids) {
        StringBuilder sb = new StringBuilder(ids.length);
        for (int id : ids) sb.append(id >= A && id <= N ? (char) ID_TO_BASE[id] : '?');
        return sb.toString();
    }

    public static String token(int id) {
        return TOKENS[id];
    }

    public static boolean isBase(int id) {
        return id >= A && id <= N;
    }

    /** The complementary base's id; N and the specials are their own complement. */
    public static int complement(int id) {
        return COMPLEMENT[id];
    }

    /** Reverse-complements {@code ids[from, from + len)} in place. */
    public static void reverseComplement(int[] ids, int from, int len) {
        for (int i = from, j = from + len - 1; i <= j; i++, j--) {
            int a = COMPLEMENT[ids[i]], b = COMPLEMENT[ids[j]];
            ids[i] = b;
            ids[j] = a;
        }
    }

    /** The table as stored with a model. */
    public static ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("type", TYPE).put("version", VERSION).put("unknown", "N")
                .put("note", "IUPAC ambiguity codes are read as N; lower case (soft-masking) is upper-cased");
        ObjectNode ids = n.putObject("tokens");
        for (int i = 0; i < SIZE; i++) ids.put(TOKENS[i], i);
        return n;
    }

    public static void write(Path modelDir) throws IOException {
        org.ssmtk.core.io.AtomicFiles.write(modelDir.resolve(FILE), o -> new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(o, toJson()));
    }

    /**
     * Checks that a model directory's {@value #FILE} is this vocabulary. Returns false when the
     * model has none (a model not trained on DNA yet); throws when it has a different one, since
     * its ids would then mean other bases.
     */
    public static boolean check(Path modelDir) throws IOException {
        Path f = modelDir.resolve(FILE);
        if (!Files.exists(f)) return false;
        JsonNode n;
        try {
            n = new ObjectMapper().readTree(f.toFile());
        } catch (IOException e) {
            throw new IOException(f + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("") + ")", e);
        }
        if (n == null || !TYPE.equals(n.path("type").asText()) || n.path("version").asInt() != VERSION)
            throw new IOException(f + ": vocabulary " + n.path("type").asText("?") + " v" + n.path("version").asText("?")
                    + " is not " + TYPE + " v" + VERSION);
        JsonNode tokens = n.path("tokens");
        int count = 0;
        for (Iterator<Map.Entry<String, JsonNode>> it = tokens.fields(); it.hasNext(); count++) {
            Map.Entry<String, JsonNode> e = it.next();
            int id = e.getValue().asInt(-1);
            if (id < 0 || id >= SIZE || !TOKENS[id].equals(e.getKey()))
                throw new IOException(f + ": token '" + e.getKey() + "' has id " + e.getValue() + ", this ssmtk expects another table");
        }
        if (count != SIZE) throw new IOException(f + ": " + count + " tokens, expected " + SIZE);
        return true;
    }
}
