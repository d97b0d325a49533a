#!/usr/bin/env nextflow
// Wires every module of modules/ssmtk on ssmtk's test-data with tiny settings (nextflow.config), so
// scripts/nextflow-check.sh can run them with -stub-run and for real:
//   nextflow run modules/ssmtk/tests/main.nf --testdata test-data --outdir out [-stub-run]
nextflow.enable.dsl = 2
nextflow.preview.topic = true   // the modules emit versions on the 'versions' topic (Nextflow 24.04+)

include { SSMTK_DNAPRETRAIN        } from '../dnapretrain/main.nf'
include { SSMTK_DNATRAINCLASSIFIER } from '../dnatrainclassifier/main.nf'
include { SSMTK_DNACLASSIFY        } from '../dnaclassify/main.nf'
include { SSMTK_DNASCORE           } from '../dnascore/main.nf'
include { SSMTK_AUDIOTRAINLM       } from '../audiotrainlm/main.nf'
include { SSMTK_AUDIOGENERATE      } from '../audiogenerate/main.nf'
include { SSMTK_REPORTHTML         } from '../reporthtml/main.nf'
include { SSMTK_GATHERTSV          } from '../gathertsv/main.nf'
include { SSMTK_GATHERBAM          } from '../gatherbam/main.nf'
include { SSMTK_GATHERVCF          } from '../gathervcf/main.nf'

workflow {
    def g = "${params.testdata}/genomics"
    def a = "${params.testdata}/audio"

    SSMTK_DNAPRETRAIN(Channel.of([[id: 'small'], file("${g}/small.fa", checkIfExists: true)]), 5, file("${g}/small.bed", checkIfExists: true))
    SSMTK_DNASCORE(Channel.of([[id: 'small'], file("${g}/small.fa", checkIfExists: true)]), SSMTK_DNAPRETRAIN.out.model, [])

    SSMTK_DNATRAINCLASSIFIER(
        Channel.of([[id: 'at_gc'], ['AT', 'GC'], [file("${g}/class-a.fa", checkIfExists: true), file("${g}/class-b.fa", checkIfExists: true)]]), 5, [])
    SSMTK_DNACLASSIFY(Channel.of([[id: 'class_b'], file("${g}/class-b.fa", checkIfExists: true)]), SSMTK_DNATRAINCLASSIFIER.out.model)

    // The gathers: two parts (the same calls twice) under one header; a single part (one shard) passes through
    SSMTK_GATHERTSV(SSMTK_DNACLASSIFY.out.tsv.map { meta, tsv -> [[id: 'class_b_twice'], [tsv, tsv]] })
    SSMTK_GATHERBAM(Channel.of([[id: 'reads'], [file("${g}/reads.bam", checkIfExists: true)]]))
    SSMTK_GATHERVCF(Channel.of([[id: 'small'], [file("${g}/small.vcf.gz", checkIfExists: true)]]))

    SSMTK_AUDIOTRAINLM(Channel.of([[id: 'tones'], [file("${a}/tone-16k-16bit.wav", checkIfExists: true), file("${a}/chirp-16k-float.wav", checkIfExists: true)]]), 5)
    SSMTK_AUDIOGENERATE(SSMTK_AUDIOTRAINLM.out.model, [], 0.1)

    // One report over the run folders of both trainers
    SSMTK_REPORTHTML(
        SSMTK_DNATRAINCLASSIFIER.out.eval.join(SSMTK_DNATRAINCLASSIFIER.out.metrics)
            .map { meta, ev, metrics -> [[id: 'report'], [ev, metrics]] })

    // every module's (process, tool, version) arrives on the versions topic
    Channel.topic('versions').unique()
        .map { process, tool, version -> "\"${process}\":\n    ${tool}: ${version}\n" }
        .collectFile(name: 'versions.yml', storeDir: "${params.outdir}/pipeline_info", sort: true)
}
