/**
 * Workflows of ssmtk commands ({@code ssmtk workflow}, {@code ssmtk report}): {@code descriptor}
 * parses and checks YAML descriptors against the op catalog the CLI supplies, {@code runner} runs
 * their steps locally (cached, in dependency order, several at once), {@code nextflow} exports them
 * as a Nextflow DSL2 pipeline, and {@code report} draws the charts and the HTML report.
 */
package org.ssmtk.workflows;
