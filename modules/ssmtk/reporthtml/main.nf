// ssmtk report html: one self-contained HTML report plus MultiQC custom-content JSON over run outputs.
process SSMTK_REPORTHTML {
    tag "$meta.id"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(inputs, stageAs: 'input_?/*')   // run folders and output files (eval.json, metrics.jsonl, TSV, bedGraph, WAV)

    output:
    tuple val(meta), path("${prefix}.html")   , emit: html
    tuple val(meta), path("${prefix}*_mqc.json"), emit: mqc
    tuple val("${task.process}"), val('ssmtk'), eval('ssmtk --version | sed "s/^ssmtk //"'), emit: versions_ssmtk, topic: versions

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
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.html ${prefix}_mqc.json
    """
}
