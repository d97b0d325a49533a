// ssmtk dna pretrain: a DNA language model on a reference FASTA (ssmtk's README, "DNA").
process SSMTK_DNAPRETRAIN {
    tag "$meta.id"
    label 'process_high'
    conda "${moduleDir}/environment.yml"
    // the CUDA image when the process is given an accelerator (Dockerfile, --build-arg VARIANT=cuda)
    container "${ task.accelerator ? 'ssmtk:0.1.0-cuda' : 'ssmtk:0.1.0' }"

    input:
    tuple val(meta), path(fasta)
    val steps           // optimizer steps
    path regions        // BED of training regions, or [] for whole contigs

    output:
    tuple val(meta), path("${prefix}/model")        , emit: model
    tuple val(meta), path("${prefix}/eval.json")    , emit: eval
    tuple val(meta), path("${prefix}/metrics.jsonl"), emit: metrics
    tuple val(meta), path("${prefix}/loss.png")     , emit: loss_png
    tuple val("${task.process}"), val('ssmtk'), eval('ssmtk --version | sed "s/^ssmtk //"'), emit: versions_ssmtk, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def device = task.accelerator && !args.contains('--device') ? '--device cuda' : ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def bed = regions ? "--regions ${regions}" : ''
    """
    ssmtk dna pretrain \\
        --fasta ${fasta} \\
        ${bed} \\
        --steps ${steps} \\
        --out ${prefix} \\
        --threads ${task.cpus} \\
        ${device} \\
        $args
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir -p ${prefix}/model
    touch ${prefix}/eval.json ${prefix}/metrics.jsonl ${prefix}/loss.png
    """
}
