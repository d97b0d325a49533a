# The ssmtk CLI as an image, for the exported pipelines' container profiles (-profile docker,
# singularity, awsbatch or k8s with --container IMAGE) and the modules under modules/ssmtk, which ask
# for ssmtk:0.1.0, or ssmtk:0.1.0-cuda when Nextflow gives the task an accelerator:
#   scripts/build.sh && docker build -t ssmtk:0.1.0 .
#   scripts/build.sh && docker build --build-arg VARIANT=cuda -t ssmtk:0.1.0-cuda .
# The cuda variant adds CUDA's runtime libraries (cuBLAS, which the cuda backend uses when it finds it) to
# the same JRE; the driver (libcuda) comes from the host through the NVIDIA container toolkit
# (docker run --gpus all; Nextflow: docker.runOptions = '--gpus all').
# Not built in CI: no container engine runs on the CI machine (its docker is a client without a daemon,
# and Docker Hub is not reachable from it).
ARG VARIANT=cpu
FROM eclipse-temurin:25-jre AS cpu

FROM nvidia/cuda:12.6.3-runtime-ubuntu24.04 AS cuda
COPY --from=eclipse-temurin:25-jre /opt/java/openjdk /opt/java/openjdk
ENV JAVA_HOME=/opt/java/openjdk PATH=/opt/java/openjdk/bin:$PATH

FROM ${VARIANT}
# procps: Nextflow reads task resource use with ps inside the container
RUN apt-get update && apt-get install -y --no-install-recommends procps && rm -rf /var/lib/apt/lists/*
COPY bin/ssmtk /opt/ssmtk/bin/ssmtk
COPY scripts/java-env.sh /opt/ssmtk/scripts/java-env.sh
COPY cli/target/ssmtk.jar /opt/ssmtk/cli/target/ssmtk.jar
COPY cli/target/lib/ /opt/ssmtk/cli/target/lib/
ENV PATH=/opt/ssmtk/bin:$PATH
RUN ssmtk --version
ENTRYPOINT []
