// ssmtk audio generate: samples a 16-bit PCM WAV from an audio train-lm model.
process SSMTK_AUDIOGENERATE {
    tag "$meta.id"
    label 'process_medium'
    conda "${moduleDir}/environment.yml"
    // the CUDA image when the process is given an accelerator (Dockerfile, --build-arg VARIANT=cuda)
    container "${ task.accelerator ? 'ssmtk:0.1.0-cuda' : 'ssmtk:0.1.0' }"

    input:
    tuple val(meta), path(model)   // an audio train-lm model folder
    path prompt                    // a WAV to continue, or []
    val seconds                    // how much audio to generate

    output:
    tuple val(meta), path("${prefix}.wav"), emit: wav
    tuple val("${task.process}"), val('ssmtk'), eval('ssmtk --version | sed "s/^ssmtk //"'), emit: versions_ssmtk, topic: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def device = task.accelerator && !args.contains('--device') ? '--device cuda' : ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def continue_from = prompt ? "--prompt ${prompt}" : ''
    """
    ssmtk audio generate \\
        --model ${model} \\
        ${continue_from} \\
        --seconds ${seconds} \\
        --output ${prefix}.wav \\
        --threads ${task.cpus} \\
        ${device} \\
        $args
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.wav
    """
}
