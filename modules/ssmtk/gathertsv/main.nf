// ssmtk gather tsv: the TSV parts of a scattered run (one per --shard, in shard order) joined into the file one unsplit run writes.
process SSMTK_GATHERTSV {
    tag "$meta.id"
    label 'process_single'
    conda "${moduleDir}/environment.yml"

    input:
    tuple val(meta), path(parts, stageAs: 'parts/?????.tsv')   // in shard order (ssmtk scatter plan's, or FASTA order)

    output:
    tuple val(meta), path("${prefix}.tsv"), emit: tsv
    tuple val("${task.process}"), val('ssmtk'), eval('ssmtk --version | sed "s/^ssmtk //"'), emit: versions_ssmtk, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def part = (parts instanceof List ? parts : [parts]).collect { "--part ${it}" }.join(' ')   // one part arrives as a single path
    """
    ssmtk gather tsv \\
        --output ${prefix}.tsv \\
        ${part} \\
        $args
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.tsv
    """
}
