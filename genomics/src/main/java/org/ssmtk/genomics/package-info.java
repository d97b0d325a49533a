/**
 * Genomics on ssmtk. {@code io} reads FASTA through HTSJDK into upper-case A/C/G/T/N,
 * {@code tokenize} turns bases into model ids (the vocabulary a checkpoint carries),
 * {@code sample} draws training windows as a {@link org.ssmtk.core.train.BatchSource} and
 * {@code eval} measures held-out bits per base. BAM/CRAM/BED input and the classification,
 * embedding and scoring tasks are not built yet.
 */
package org.ssmtk.genomics;
