package org.ssmtk.genomics.tokenize;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DnaVocabularyTest {
    @TempDir
    Path dir;

    @Test
    void documentedIds() {
        assertArrayEquals(new byte[]{4, 5, 6, 7, 8, 4}, DnaVocabulary.encode("ACGTNa".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("[PAD]", DnaVocabulary.token(DnaVocabulary.PAD));
        assertEquals("[MASK]", DnaVocabulary.token(3));
        assertEquals("ACGTN?", DnaVocabulary.decode(new int[]{4, 5, 6, 7, 8, 1}));
        assertThrows(IllegalArgumentException.class, () -> DnaVocabulary.id((byte) 'R'));
    }

    @Test
    void reverseComplement() {
        int[] ids = {9, 4, 4, 5, 6, 8, 7, 9}; // 9s are outside the range and must stay put
        DnaVocabulary.reverseComplement(ids, 1, 6);
        assertEquals("?ANCGTT?", DnaVocabulary.decode(ids));
        DnaVocabulary.reverseComplement(ids, 1, 6);
        assertEquals("?AACGNT?", DnaVocabulary.decode(ids));
        assertEquals(DnaVocabulary.PAD, DnaVocabulary.complement(DnaVocabulary.PAD));
        int[] odd = {4, 5, 6};
        DnaVocabulary.reverseComplement(odd, 0, 3);
        assertEquals("CGT", DnaVocabulary.decode(odd));
    }

    @Test
    void storedWithAModel() throws IOException {
        assertFalse(DnaVocabulary.check(dir));
        DnaVocabulary.write(dir);
        assertTrue(DnaVocabulary.check(dir));
        String json = Files.readString(dir.resolve(DnaVocabulary.FILE));
        assertTrue(json.contains("\"A\" : 4"), json);
        Files.writeString(dir.resolve(DnaVocabulary.FILE), json.replace("\"A\" : 4", "\"A\" : 5"));
        IOException e = assertThrows(IOException.class, () -> DnaVocabulary.check(dir));
        assertTrue(e.getMessage().startsWith(dir.resolve(DnaVocabulary.FILE) + ": token 'A'"), e.getMessage());
        Files.writeString(dir.resolve(DnaVocabulary.FILE), "{\"type\": \"bpe\", \"version\": 1}");
        assertTrue(assertThrows(IOException.class, () -> DnaVocabulary.check(dir)).getMessage().contains("is not ssmtk-dna-character"));
    }
}
