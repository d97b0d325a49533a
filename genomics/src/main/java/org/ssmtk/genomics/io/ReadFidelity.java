package org.ssmtk.genomics.io;

import htsjdk.samtools.SAMFileHeader;
import htsjdk.samtools.SAMProgramRecord;
import htsjdk.samtools.SAMRecord;
import htsjdk.samtools.reference.FastaSequenceIndexCreator;
import htsjdk.samtools.reference.ReferenceSequenceFileFactory;
import htsjdk.samtools.util.SequenceUtil;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

/**
 * What a tool that rewrites alignments owes the next one in the pipeline: a {@code @PG} line saying
 * what ran (ID unique, PP chained to the previous program, CL), and for records decoded from CRAM
 * the NM and MD tags samtools would restore (CRAM keeps them implicit; HTSJDK's decoder does not
 * bring them back, so a CRAM -> BAM copy would lose them: Picard's MISSING_TAG_NM).
 */
public final class ReadFidelity {
    private ReadFidelity() {}

    /** A copy of header with a new @PG (ID "ssmtk", or "ssmtk.N" if taken) chained after the last program. */
    public static SAMFileHeader withProgramRecord(SAMFileHeader header, String version, String commandLine) {
        SAMFileHeader h = header.clone();
        Set<String> ids = new HashSet<>(), referenced = new HashSet<>();
        for (SAMProgramRecord p : h.getProgramRecords()) {
            ids.add(p.getId());
            if (p.getPreviousProgramGroupId() != null) referenced.add(p.getPreviousProgramGroupId());
        }
        String id = "ssmtk";
        for (int n = 1; ids.contains(id); n++) id = "ssmtk." + n;
        SAMProgramRecord pg = new SAMProgramRecord(id);
        pg.setProgramName("ssmtk");
        pg.setProgramVersion(version);
        pg.setCommandLine(commandLine);
        // the end of the chain: the last program no other names as its predecessor (samtools' rule)
        String previous = null;
        for (SAMProgramRecord p : h.getProgramRecords()) if (!referenced.contains(p.getId())) previous = p.getId();
        if (previous != null) pg.setPreviousProgramGroupId(previous);
        h.addProgramRecord(pg);
        return h;
    }

    /**
     * A CRAM reference must be indexed for HTSJDK to fetch its bases ("Failure getting reference
     * bases" otherwise). Builds the .fai beside a plain FASTA, as samtools does, or says what to run.
     */
    public static void ensureFastaIndex(Path fasta, PrintStream err) throws IOException {
        Path fai = ReferenceSequenceFileFactory.getFastaIndexFileName(fasta);
        if (Files.exists(fai)) return;
        if (htsjdk.samtools.util.IOUtil.isBlockCompressed(fasta, true) || fasta.getFileName().toString().endsWith(".gz"))
            throw new FastaException(fasta, "has no .fai; CRAM needs an indexed reference: samtools faidx " + fasta
                    + " (a gzip-compressed one must be bgzip-compressed first)");
        try {
            FastaSequenceIndexCreator.create(fasta, false);
        } catch (IOException | RuntimeException e) {
            throw new FastaException(fasta, "has no .fai and it could not be built beside it (" + e.getMessage()
                    + "); CRAM needs an indexed reference: samtools faidx " + fasta, e);
        }
        err.println("ssmtk: note: built " + fai + " (CRAM needs an indexed reference)");
    }

    /** Restores NM and MD on mapped records that lack them, from the reference (one contig held at a time). */
    public static final class NmMd implements AutoCloseable {
        private final FastaReference ref;
        private String contig;
        private byte[] bases;

        public NmMd(Path fasta) throws FastaException {
            this.ref = FastaReference.open(fasta);
        }

        public void restore(SAMRecord r) throws FastaException {
            if (r.getReadUnmappedFlag() || r.getReadBases().length == 0 || r.getCigar().isEmpty()) return;
            boolean nm = r.getAttribute("NM") == null, md = r.getAttribute("MD") == null;
            if (!nm && !md) return;
            if (!r.getReferenceName().equals(contig)) {
                contig = r.getReferenceName();
                bases = ref.sequence(contig).bases(); // upper case, IUPAC codes as N
            }
            SequenceUtil.calculateMdAndNmTags(r, bases, md, nm);
        }

        @Override
        public void close() throws IOException {
            ref.close();
        }
    }
}
