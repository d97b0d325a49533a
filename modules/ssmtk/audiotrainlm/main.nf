// ssmtk audio train-lm: a mu-law waveform language model on a WAV file or a folder of them.
process SSMTK_AUDIOTRAINLM {
    tag "$meta.id"
    label 'process_high'
    conda "${moduleDir}/environment.yml"
    // the CUDA image when the process is given an accelerator (Dockerfile, --build-arg VARIANT=cuda)
    container "${ task.accelerator ? 'ssmtk:0.1.0-cuda' : 'ssmtk:0.1.0' }"

    input:
    tuple val(meta), path(wavs, stageAs: 'input/*')
    val steps            // optimizer steps

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
    """
    ssmtk audio train-lm \\
        --input input \\
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
