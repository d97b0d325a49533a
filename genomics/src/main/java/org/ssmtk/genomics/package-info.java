/**
 * Genomics on ssmtk. {@code io} reads FASTA, BED and record labels through HTSJDK into upper-case
 * A/C/G/T/N, {@code tokenize} turns bases into model ids (the vocabulary a checkpoint carries),
 * {@code sample} draws training windows as a {@link org.ssmtk.core.train.BatchSource}, {@code eval}
 * measures held-out bits per base, {@code score} streams per-base likelihoods, {@code baseline} holds
 * the k-mer features, and {@code classify} supplies DNA to core's classifier flow
 * ({@link org.ssmtk.core.classify.ClassifierTraining}).
 */
package org.ssmtk.genomics;
