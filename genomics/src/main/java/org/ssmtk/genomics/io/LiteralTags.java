package org.ssmtk.genomics.io;

import htsjdk.samtools.BAMRecord;
import htsjdk.samtools.SAMBinaryTagAndValue;
import htsjdk.samtools.SAMRecord;
import htsjdk.samtools.SAMTag;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A record's optional fields in the order its file held them, with added ones after them, as samtools
 * appends. HTSJDK keeps a record's tags in a list sorted by tag (its decoder sorts them as it reads),
 * and its BAM and CRAM writers write that list in list order: so a tool that only adds XL and XP would
 * reorder every record. The order is read from the source (the BAM record's bytes, or the SAM line),
 * and the record is given a list in that order whose nodes look tags up by walking it rather than by
 * the sorted-order shortcut HTSJDK's nodes take.
 */
public final class LiteralTags {
    private LiteralTags() {}

    private static final Method SET_ATTRIBUTES;
    static {
        try {
            // protected in SAMRecord ("intended to only be called from subclasses"); BAMRecord and the
            // SAM parser's records cannot be subclassed here, so it is opened once, on the class path
            SET_ATTRIBUTES = SAMRecord.class.getDeclaredMethod("setAttributes", SAMBinaryTagAndValue.class);
            SET_ATTRIBUTES.setAccessible(true);
        } catch (NoSuchMethodException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * The order of r's tags as stored: from a BAM record's bytes, or from its SAM line (null when
     * neither is at hand, e.g. a CRAM record: then the decoded order stands). Call before r changes.
     */
    public static short[] order(SAMRecord r, String samLine) {
        if (samLine != null) return fromSamLine(samLine);
        if (r instanceof BAMRecord b) return fromBamRecord(b);
        return null;
    }

    static short[] fromSamLine(String line) {
        List<Short> tags = new ArrayList<>();
        int field = 0, start = 0;
        for (int i = 0; i <= line.length(); i++) {
            if (i == line.length() || line.charAt(i) == '\t') {
                if (field >= 11 && i - start >= 2) tags.add(SAMTag.makeBinaryTag(line.substring(start, start + 2)));
                field++;
                start = i + 1;
            }
        }
        short[] out = new short[tags.size()];
        for (int i = 0; i < out.length; i++) out[i] = tags.get(i);
        return out;
    }

    /** Walks the tag section of the record's variable-length block; null if it does not parse exactly (then the decoded order stands). */
    static short[] fromBamRecord(BAMRecord r) {
        byte[] v = r.getVariableBinaryRepresentation();
        if (v == null) return null;
        int len = r.getReadLength();
        // read name + NUL, cigar ops, 4-bit bases, qualities: the fields before the tags
        int offset = r.getReadNameLength() + 1 + 4 * r.getCigarLength() + (len + 1) / 2 + len;
        ByteBuffer b = ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN);
        List<Short> tags = new ArrayList<>();
        try {
            b.position(offset);
            while (b.hasRemaining()) {
                tags.add(b.getShort());
                byte type = b.get();
                switch (type) {
                    case 'A', 'c', 'C' -> b.position(b.position() + 1);
                    case 's', 'S' -> b.position(b.position() + 2);
                    case 'i', 'I', 'f' -> b.position(b.position() + 4);
                    case 'Z', 'H' -> { while (b.get() != 0) { } }
                    case 'B' -> {
                        byte sub = b.get();
                        int n = b.getInt();
                        int size = switch (sub) { case 'c', 'C' -> 1; case 's', 'S' -> 2; case 'i', 'I', 'f' -> 4; default -> -1; };
                        if (size < 0 || n < 0) return null;
                        b.position(Math.addExact(b.position(), Math.multiplyExact(n, size)));
                    }
                    default -> { return null; }
                }
            }
        } catch (RuntimeException e) { // BufferUnderflow, IllegalArgument, Arithmetic: not the layout assumed
            return null;
        }
        short[] out = new short[tags.size()];
        for (int i = 0; i < out.length; i++) out[i] = tags.get(i);
        return out;
    }

    /** The tags r holds now, in HTSJDK's list order (the fallback when the stored order is unknown). */
    public static short[] current(SAMRecord r) {
        List<SAMRecord.SAMTagAndValue> a = r.getAttributes();
        short[] out = new short[a.size()];
        for (int i = 0; i < out.length; i++) out[i] = SAMTag.makeBinaryTag(a.get(i).tag);
        return out;
    }

    /**
     * Puts r's tags in {@code stored} order: tags still present keep their place (with their current
     * value), tags r gained since are appended, tags it lost are gone. Call after the last change.
     */
    public static void apply(SAMRecord r, short[] stored) {
        List<SAMRecord.SAMTagAndValue> now = r.getAttributes(); // also decodes a BAMRecord's tags before they are replaced
        if (now.isEmpty() || stored == null) return;
        List<Node> out = new ArrayList<>(now.size());
        boolean[] used = new boolean[now.size()];
        for (short tag : stored)
            for (int i = 0; i < now.size(); i++)
                if (!used[i] && SAMTag.makeBinaryTag(now.get(i).tag) == tag) {
                    used[i] = true;
                    out.add(node(r, now.get(i)));
                    break;
                }
        for (int i = 0; i < now.size(); i++) if (!used[i]) out.add(node(r, now.get(i)));
        for (int i = 0; i + 1 < out.size(); i++) out.get(i).link(out.get(i + 1));
        try {
            SET_ATTRIBUTES.invoke(r, out.get(0));
        } catch (IllegalAccessException | InvocationTargetException e) {
            throw new IllegalStateException("HTSJDK's SAMRecord.setAttributes could not be called", e);
        }
    }

    private static Node node(SAMRecord r, SAMRecord.SAMTagAndValue t) {
        short tag = SAMTag.makeBinaryTag(t.tag);
        // an unsigned array keeps its unsignedness (B:C/S/I), which getAttributes() does not say
        boolean unsigned = t.value.getClass().isArray() && r.isUnsignedArrayAttribute(t.tag);
        return new Node(tag, t.value, unsigned);
    }

    /**
     * A node of a list kept in stored order: lookups walk the whole list, replacing a value keeps its
     * place, a new tag goes to the end (HTSJDK's own nodes assume sorted order and stop early).
     */
    static final class Node extends SAMBinaryTagAndValue {
        private final boolean unsigned;

        Node(short tag, Object value, boolean unsigned) {
            super(tag, value);
            this.unsigned = unsigned;
        }

        void link(Node following) {
            next = following;
        }

        @Override
        public boolean isUnsignedArray() {
            return unsigned;
        }

        @Override
        public SAMBinaryTagAndValue find(short t) {
            for (SAMBinaryTagAndValue n = this; n != null; n = n.getNext()) if (n.tag == t) return n;
            return null;
        }

        @Override
        public SAMBinaryTagAndValue insert(SAMBinaryTagAndValue attr) {
            if (attr == null) return this;
            Node fresh = new Node(attr.tag, attr.value, attr.isUnsignedArray());
            if (tag == attr.tag) {
                fresh.next = next;
                return fresh;
            }
            Node n = this;
            while (true) {
                if (!(n.next instanceof Node following)) { // end of the list
                    n.next = fresh;
                    return this;
                }
                if (following.tag == attr.tag) {
                    fresh.next = following.next;
                    n.next = fresh;
                    return this;
                }
                n = following;
            }
        }

        @Override
        public SAMBinaryTagAndValue remove(short t) {
            if (tag == t) return next;
            for (Node n = this; n.next instanceof Node following; n = following)
                if (following.tag == t) {
                    n.next = following.next;
                    break;
                }
            return this;
        }

        @Override
        public SAMBinaryTagAndValue copy() {
            Node c = new Node(tag, value, unsigned);
            if (next != null) c.next = next.copy();
            return c;
        }

        @Override
        public SAMBinaryTagAndValue deepCopy() {
            Node c = new Node(tag, new SAMBinaryTagAndValue(tag, value).deepCopy().value, unsigned);
            if (next != null) c.next = next.deepCopy();
            return c;
        }
    }
}
