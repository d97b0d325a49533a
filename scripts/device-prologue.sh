# Sourced at the start of a GPU machine's command (see scripts/device-pack.sh): unpacks the JRE to
# /tmp/jre once, points bin/ssmtk's cli/target at the carried jars, unpacks a carried digits set
# into ~/.cache/ssmtk once.
if [ ! -x /tmp/jre/bin/java ]; then tar xJf .device/jre.tar.xz -C /tmp || return 1; fi
export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
mkdir -p cli/target && cp .devextra/ssmtk.jar cli/target/ssmtk.jar && rm -rf cli/target/lib && ln -sfn ../../.devextra/lib cli/target/lib
if [ -f .devextra/pd/digits-16k.tar.xz.part-aa ] && [ ! -f "$HOME/.cache/ssmtk/audio-digits-16000/train.tsv" ]; then
    mkdir -p "$HOME/.cache/ssmtk/audio-digits-16000"
    cat .devextra/pd/digits-16k.tar.xz.part-* | tar -xJ -C "$HOME/.cache/ssmtk/audio-digits-16000"
fi
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || true
