/**
 * Genomics on ssmtk: FASTA/BAM/CRAM/BED input through HTSJDK, DNA tokenization, and the
 * {@code ssmtk dna} tasks. Being built under the genomics issue; nothing here is usable yet.
 */
package org.ssmtk.genomics;
