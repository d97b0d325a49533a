package org.ssmtk.genomics.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.io.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The ids of Caduceus' character tokenizer (CaduceusTokenizer): seven specials, [CLS]=0 [SEP]=1
 * [BOS]=2 [MASK]=3 [PAD]=4 [RESERVED]=5 [UNK]=6, then one id per character from 7 in the order of
 * its {@code characters} (A C G T N unless the checkpoint's tokenizer_config.json says otherwise).
 * {@link #read} takes the characters from the checkpoint and checks them against its config's
 * complement_map (A's id must map to T's, C's to G's), so ids are read, not assumed.
 * The DNA pipeline reads bases as {@link DnaVocabulary} ids; {@link #id} translates them.
 */
public final class CaduceusVocabulary {
    public static final String FILE = "tokenizer_config.json";
    public static final int SEP = 1, BOS = 2, MASK = 3, PAD = 4, UNK = 6, FIRST_CHARACTER = 7;
    public static final List<String> DEFAULT_CHARACTERS = List.of("A", "C", "G", "T", "N");

    private final List<String> characters;
    private final int[] fromDna = new int[DnaVocabulary.SIZE];

    private CaduceusVocabulary(List<String> characters) {
        this.characters = List.copyOf(characters);
        fromDna[DnaVocabulary.PAD] = PAD;
        fromDna[DnaVocabulary.BOS] = BOS;
        fromDna[DnaVocabulary.EOS] = SEP;
        fromDna[DnaVocabulary.MASK] = MASK;
        String bases = "ACGTN";
        for (int b = 0; b < bases.length(); b++) {
            int i = characters.indexOf(String.valueOf(bases.charAt(b)));
            fromDna[DnaVocabulary.A + b] = i < 0 ? UNK : FIRST_CHARACTER + i;
        }
    }

    public static CaduceusVocabulary standard() {
        return new CaduceusVocabulary(DEFAULT_CHARACTERS);
    }

    /** Ids of tokens: the specials and the characters. */
    public int size() {
        return FIRST_CHARACTER + characters.size();
    }

    /** This tokenizer's id of a {@link DnaVocabulary} id. */
    public int id(int dnaId) {
        return fromDna[dnaId];
    }

    /** The ids of A, C, G and T (what a masked position may be replaced by). */
    public int[] bases() {
        return new int[]{fromDna[DnaVocabulary.A], fromDna[DnaVocabulary.C], fromDna[DnaVocabulary.G], fromDna[DnaVocabulary.T]};
    }

    /** The model's vocabulary from DIR/tokenizer_config.json's "characters" (default A C G T N), checked against config.json. */
    public static CaduceusVocabulary read(Path dir, MambaConfig config) throws IOException {
        List<String> chars = DEFAULT_CHARACTERS;
        Path file = dir.resolve(FILE);
        if (Files.isRegularFile(file)) {
            JsonNode c;
            try {
                c = new ObjectMapper().readTree(file.toFile()).path("characters");
            } catch (IOException e) {
                throw new ModelFormatException(file + ": not valid JSON");
            }
            if (!c.isMissingNode()) {
                if (!c.isArray()) throw new ModelFormatException(file + ": characters must be an array of strings");
                chars = new ArrayList<>();
                for (JsonNode n : c) chars.add(n.asText());
            }
        }
        CaduceusVocabulary v = new CaduceusVocabulary(chars);
        if (config.caduceus() != null) {
            int[] comp = config.caduceus().complementMap();
            String[][] pairs = {{"A", "T"}, {"C", "G"}};
            for (String[] p : pairs) {
                int a = chars.indexOf(p[0]), b = chars.indexOf(p[1]);
                if (a < 0 || b < 0) throw new ModelFormatException(file + ": characters " + chars + " lack " + p[0] + " or " + p[1]);
                int ia = FIRST_CHARACTER + a, ib = FIRST_CHARACTER + b;
                if (ia >= comp.length || comp[ia] != ib || comp[ib] != ia)
                    throw new ModelFormatException(dir.resolve("config.json") + ": complement_map does not pair " + p[0] + " (id " + ia
                            + ") with " + p[1] + " (id " + ib + ") as the tokenizer's characters " + chars + " imply");
            }
            if (v.size() > config.vocabSize())
                throw new ModelFormatException(file + ": " + v.size() + " token ids do not fit vocab_size " + config.vocabSize());
        }
        return v;
    }

    /** DIR/tokenizer_config.json as CaduceusTokenizer's config names its characters. */
    public void write(Path dir, int modelMaxLength) throws IOException {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("tokenizer_class", "CaduceusTokenizer");
        var a = o.putArray("characters");
        characters.forEach(a::add);
        o.put("model_max_length", modelMaxLength);
        byte[] json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(o);
        AtomicFiles.write(dir.resolve(FILE), out -> out.write(json));
    }

    /** The character tokenizer's complement map over a padded vocabulary: A<->T, C<->G, the rest their own. */
    public int[] complementMap(int paddedVocab) {
        int[] m = new int[paddedVocab];
        for (int i = 0; i < m.length; i++) m[i] = i;
        int[] acgt = bases();
        m[acgt[0]] = acgt[3]; m[acgt[3]] = acgt[0];
        m[acgt[1]] = acgt[2]; m[acgt[2]] = acgt[1];
        return m;
    }
}
