#!/usr/bin/env bash
# Packs what `bin/ssmtk` needs to run on a GPU machine that has no Java and takes 64 MiB a call:
#   .device/jre.tar.xz         a Java 25 runtime (../shared/tools/device-jre.sh, as gpu-check.sh --pack; ~22 MB)
#   .devextra/ssmtk.jar, .devextra/lib/   the launcher's jars without what a GPU job does not load
#                              (PDFBox, nashorn, snappy, JCuda's PTX compiler; ~9 MB; HTSJDK stays:
#                              the command groups load it)
#   .devextra/pd/              with --digits: the 16 kHz digits set as mu-law parts (~17 MB; built
#                              here with scripts/make-audio-digits.py if ~/.cache lacks it); with
#                              --digits-a8 instead, the set with twice the training clips (every voice
#                              variant in all 8 accents; the same 800 test clips; ~30 MB)
# Both folders are ignored by git. Then every call carries them and starts by sourcing the prologue:
#   run(command = ". scripts/device-prologue.sh && bin/ssmtk audio train-lm ... --device cuda",
#       carry = [".device/jre.tar.xz", ".devextra"])
# A carried folder left out of a later call is deleted there; data the prologue unpacked stays in
# ~/.cache there while the machine is warm. The 64 MiB include the working tree (~12 MiB), so the
# JRE and the --digits-a8 set do not fit one call: a first call carries [".device/jre.tar.xz",
# ".devextra/lib", ".devextra/ssmtk.jar"] and only sources the prologue (the JRE stays in /tmp/jre
# while the machine is warm), the later ones carry [".devextra"]. The last line says which.
#
#   scripts/device-pack.sh [--digits | --digits-a8]
set -euo pipefail
cd "$(dirname "$0")/.."
digits=
for a in "$@"; do
    case "$a" in
        --digits) digits=16k ;;
        --digits-a8) digits=16k-a8 ;;
        *) echo "device-pack.sh: unknown argument $a" >&2; exit 1 ;;
    esac
done
. scripts/java-env.sh && ssmtk_select_jdk
exclude="$(git rev-parse --git-dir)/info/exclude"
for d in /.device/ /.devextra/; do grep -qxF "$d" "$exclude" 2>/dev/null || echo "$d" >> "$exclude"; done
[ -f cli/target/ssmtk.jar ] && [ -d cli/target/lib ] || scripts/build.sh
rm -rf .devextra/lib && mkdir -p .devextra/lib .device
cp cli/target/ssmtk.jar .devextra/
for j in cli/target/lib/*.jar; do
    case "$(basename "$j")" in
        snappy*|nashorn*|pdfbox*|fontbox*|ngs-java*|commons-jexl*|asm*|json-schema-validator*|commons-compress*|xz-*) ;;
        *) cp "$j" .devextra/lib/ ;;
    esac
done
for n in .devextra/lib/jcuda-natives*.jar; do
    [ -f "$n" ] && zip -q -d "$n" 'lib/libJNvPTXCompiler*' 'lib/libJNvrtc*' 2>/dev/null || true
done
# its default modules (java.desktop among them: charts, TarsosDSP), which gpu-check.sh --pack narrows
JDK25=${JDK25:-$JAVA_HOME} "${SSMTK_DEVICE_JRE:-../shared/tools/device-jre.sh}" .device >/dev/null
if [ -n "$digits" ]; then
    # one set a call fits: drop any other set's parts
    [ -d .devextra/pd ] && find .devextra/pd -name 'digits-*.tar.xz.part-*' ! -name "digits-$digits.tar.xz.part-*" -delete
    base=$HOME/.cache/ssmtk/audio-digits-16000
    [ -f "$base/train.tsv" ] || python3 scripts/make-audio-digits.py --rate 16000 --out "$base"
    if [ "$digits" = 16k-a8 ] && [ ! -f "$base-a8/train.tsv" ]; then
        python3 scripts/make-audio-digits.py --rate 16000 --accents-per-variant 8 --test-from "$base" --out "$base-a8"
    fi
    data=$base${digits#16k}
    mkdir -p .devextra/pd
    [ -f ".devextra/pd/digits-$digits.tar.xz.part-aa" ] || scripts/pack-audio-set.sh "$data" ".devextra/pd/digits-$digits"
fi
tree_bytes=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -n 1 | cut -f1)
total_bytes=$(( tree_bytes + $(du -sb .device/jre.tar.xz | cut -f1) + $(du -sb .devextra | cut -f1) ))
if [ "$total_bytes" -le $(( 64 << 20 )) ]; then
    carry='carry [".device/jre.tar.xz", ".devextra"]'
else
    carry='tree, JRE and .devextra are over 64 MiB: first carry [".device/jre.tar.xz", ".devextra/lib", ".devextra/ssmtk.jar"] and only source the prologue, then carry [".devextra"] while the machine stays warm'
fi
echo "device-pack: $(du -sh .device/jre.tar.xz | cut -f1) JRE, $(du -sh .devextra | cut -f1) in .devextra, $(( tree_bytes >> 20 )) MiB of tracked files; $carry; start every call with . scripts/device-prologue.sh"
