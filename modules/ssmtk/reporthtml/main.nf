// ssmtk report html: one self-contained HTML report plus MultiQC custom-content JSON over run outputs.
process SSMTK_REPORTHTML {
    tag "$meta.id"
    label 'process_single'

    input:
    tuple val(meta), path(inputs, stageAs: 'input_?/*')   // run folders and output files (eval.json, metrics.jsonl, TSV, bedGraph, WAV)

    output:
    tuple val(meta), path("${prefix}.html")   , emit: html
    tuple val(meta), path("${prefix}*_mqc.json"), emit: mqc
    path "versions.yml"                      , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def files = (inputs instanceof List ? inputs : [inputs]).collect { "--input ${it}" }.join(' ')
    """
    ssmtk report html \\
        ${files} \\
        --output ${prefix}.html \\
        $args

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        ssmtk: \$(ssmtk --version | sed 's/^ssmtk //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.html ${prefix}_mqc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        ssmtk: stub
    END_VERSIONS
    """
}
