# Sourced at the start of a GPU machine's command (see scripts/device-pack.sh): unpacks the JRE to
# /tmp/jre once, points bin/ssmtk's cli/target at the carried jars, unpacks a carried digits set
# into ~/.cache/ssmtk once.
if [ ! -x /tmp/jre/bin/java ]; then tar xJf .device/jre.tar.xz -C /tmp || return 1; fi
export JAVA_HOME=/tmp/jre PATH=/tmp/jre/bin:$PATH
mkdir -p cli/target && cp .devextra/ssmtk.jar cli/target/ssmtk.jar && rm -rf cli/target/lib && ln -sfn ../../.devextra/lib cli/target/lib
# each carried set digits-16k[-SUFFIX] unpacks into ~/.cache/ssmtk/audio-digits-16000[-SUFFIX]
for part in .devextra/pd/digits-16k*.tar.xz.part-aa; do
    [ -f "$part" ] || continue
    name=$(basename "$part" .tar.xz.part-aa)
    dest="$HOME/.cache/ssmtk/audio-${name/16k/16000}"
    if [ ! -f "$dest/train.tsv" ]; then mkdir -p "$dest" && cat ".devextra/pd/$name.tar.xz.part-"* | tar -xJ -C "$dest" || return 1; fi
done
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || true
