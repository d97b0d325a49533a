// ssmtk audio generate: samples a 16-bit PCM WAV from an audio train-lm model.
process SSMTK_AUDIOGENERATE {
    tag "$meta.id"
    label 'process_medium'

    input:
    tuple val(meta), path(model)   // an audio train-lm model folder
    path prompt                    // a WAV to continue, or []
    val seconds                    // how much audio to generate

    output:
    tuple val(meta), path("${prefix}.wav"), emit: wav
    path "versions.yml"                  , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def continue_from = prompt ? "--prompt ${prompt}" : ''
    """
    ssmtk audio generate \\
        --model ${model} \\
        ${continue_from} \\
        --seconds ${seconds} \\
        --output ${prefix}.wav \\
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
    touch ${prefix}.wav

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        ssmtk: stub
    END_VERSIONS
    """
}
