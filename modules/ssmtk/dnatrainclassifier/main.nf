// ssmtk dna train-classifier: a sequence classifier from one FASTA per class (ssmtk's README, "DNA sequence classification").
process SSMTK_DNATRAINCLASSIFIER {
    tag "$meta.id"
    label 'process_high'
    conda "${moduleDir}/environment.yml"
    // the CUDA image when the process is given an accelerator (Dockerfile, --build-arg VARIANT=cuda)
    container "${ task.accelerator ? 'ssmtk:0.1.0-cuda' : 'ssmtk:0.1.0' }"

    input:
    tuple val(meta), val(labels), path(fastas, stageAs: 'class_?/*')
    val steps           // optimizer steps
    path pretrained     // a dna pretrain model folder to fine-tune, or [] to start fresh

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
    def files = fastas instanceof List ? fastas : [fastas]
    def names = labels instanceof List ? labels : [labels]
    if (names.size() != files.size()) error "SSMTK_DNATRAINCLASSIFIER: ${names.size()} labels for ${files.size()} FASTA files"
    def classes = (0..<files.size()).collect { i -> "--class ${names[i]}=${files[i]}" }.join(' ')
    def model = pretrained ? "--model ${pretrained}" : ''
    """
    ssmtk dna train-classifier \\
        ${classes} \\
        ${model} \\
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
