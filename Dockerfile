# The ssmtk CLI as an image, for the exported pipelines' container profiles (-profile docker,
# singularity, awsbatch or k8s with --container IMAGE) and the modules under modules/ssmtk.
#   scripts/build.sh && docker build -t ssmtk:0.1.0 .
# CPU only: the CUDA backend needs an NVIDIA base image and driver, which this file does not choose.
# Not built in CI: no container engine runs on the CI machine (its docker is a client without a daemon).
FROM eclipse-temurin:25-jre
# procps: Nextflow reads task resource use with ps inside the container
RUN apt-get update && apt-get install -y --no-install-recommends procps && rm -rf /var/lib/apt/lists/*
COPY bin/ssmtk /opt/ssmtk/bin/ssmtk
COPY scripts/java-env.sh /opt/ssmtk/scripts/java-env.sh
COPY cli/target/ssmtk.jar /opt/ssmtk/cli/target/ssmtk.jar
COPY cli/target/lib/ /opt/ssmtk/cli/target/lib/
ENV PATH=/opt/ssmtk/bin:$PATH
RUN ssmtk --version
ENTRYPOINT []
