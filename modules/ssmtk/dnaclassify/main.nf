// ssmtk dna classify: class probabilities per record (or window) of a FASTA.
process SSMTK_DNACLASSIFY {
    tag "$meta.id"
    label 'process_medium'
    conda "${moduleDir}/environment.yml"
    // the CUDA image when the process is given an accelerator (Dockerfile, --build-arg VARIANT=cuda)
    container "${ task.accelerator ? 'ssmtk:0.1.0-cuda' : 'ssmtk:0.1.0' }"

    input:
    tuple val(meta), path(fasta)
    tuple val(meta2), path(model)   // a dna train-classifier model folder

    output:
    tuple val(meta), path("${prefix}.tsv"), emit: tsv
    tuple val("${task.process}"), val('ssmtk'), eval('ssmtk --version | sed "s/^ssmtk //"'), emit: versions_ssmtk, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def device = task.accelerator && !args.contains('--device') ? '--device cuda' : ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    ssmtk dna classify \\
        --model ${model} \\
        --fasta ${fasta} \\
        --output ${prefix}.tsv \\
        --threads ${task.cpus} \\
        ${device} \\
        $args
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.tsv
    """
}
