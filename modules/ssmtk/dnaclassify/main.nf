// ssmtk dna classify: class probabilities per record (or window) of a FASTA.
process SSMTK_DNACLASSIFY {
    tag "$meta.id"
    label 'process_medium'

    input:
    tuple val(meta), path(fasta)
    tuple val(meta2), path(model)   // a dna train-classifier model folder

    output:
    tuple val(meta), path("${prefix}.tsv"), emit: tsv
    path "versions.yml"                  , emit: versions

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

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        ssmtk: \$(ssmtk --version | sed 's/^ssmtk //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        ssmtk: stub
    END_VERSIONS
    """
}
