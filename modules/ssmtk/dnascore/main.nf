// ssmtk dna score: per-window mean log2 likelihood of every base as a bedGraph.
process SSMTK_DNASCORE {
    tag "$meta.id"
    label 'process_medium'
    conda "${moduleDir}/environment.yml"
    // the CUDA image when the process is given an accelerator (Dockerfile, --build-arg VARIANT=cuda)
    container "${ task.accelerator ? 'ssmtk:0.1.0-cuda' : 'ssmtk:0.1.0' }"

    input:
    tuple val(meta), path(fasta)
    tuple val(meta2), path(model)   // a dna pretrain model folder
    path regions                    // BED, or [] for whole contigs

    output:
    tuple val(meta), path("${prefix}.bedGraph"), emit: bedgraph
    tuple val("${task.process}"), val('ssmtk'), eval('ssmtk --version | sed "s/^ssmtk //"'), emit: versions_ssmtk, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def device = task.accelerator && !args.contains('--device') ? '--device cuda' : ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def bed = regions ? "--regions ${regions}" : ''
    """
    ssmtk dna score \\
        --model ${model} \\
        --fasta ${fasta} \\
        ${bed} \\
        --output ${prefix}.bedGraph \\
        --threads ${task.cpus} \\
        ${device} \\
        $args
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.bedGraph
    """
}
