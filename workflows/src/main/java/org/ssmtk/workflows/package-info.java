/**
 * YAML workflow descriptors, the local runner and the Nextflow export ({@code ssmtk workflow}).
 * Being built under the workflows issue; nothing here is usable yet.
 */
package org.ssmtk.workflows;
