// ssmtk dna classify: class probabilities per record (or window) of a FASTA.
process SSMTK_DNACLASSIFY {
    tag "$meta.id"
    label 'process_medium'
    conda "${moduleDir}/environment.yml"

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
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    ssmtk dna classify \\
        --model ${model} \\
        --fasta ${fasta} \\
        --output ${prefix}.tsv \\
        --threads ${task.cpus} \\
        $args
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.tsv
    """
}
