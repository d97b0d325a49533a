# Sourced by the Nextflow checks: defines nextflow() running real Nextflow 24.10.0 (its jars resolved
# from Maven Central into workflows/nextflow/target/lib by workflows/nextflow/pom.xml: no launcher
# download) on a JDK 17..23 (its Groovy 4.0 cannot read Java 25 class files; NF_JAVA_HOME picks one),
# with the --add-opens Nextflow's own launcher passes. Expects $root (the checkout) and $out (the
# check's folder, which gets NXF_HOME); selects the JDK 25 for ssmtk and puts bin/ on PATH.
nf_java=""
for candidate in "${NF_JAVA_HOME:-}" /usr/lib/jvm/*; do
  [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
  v=$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  if [ -n "$v" ] && [ "${v%%.*}" -ge 17 ] && [ "${v%%.*}" -le 23 ]; then nf_java=$candidate/bin/java; break; fi
done
if [ -z "$nf_java" ]; then echo "$(basename "$0"): no JDK 17..23 for Nextflow (set NF_JAVA_HOME or install openjdk-17-jre-headless)" >&2; exit 1; fi

. "$root/scripts/java-env.sh"
ssmtk_select_jdk
nf_lib=$root/workflows/nextflow/target/lib
if [ ! -f "$nf_lib/nextflow-24.10.0.jar" ]; then
  mvn -B -q -f "$root/workflows/nextflow/pom.xml" dependency:copy-dependencies -DoutputDirectory="$nf_lib"
fi
# What Nextflow's own launcher opens to its libraries (Kryo, leveldb) on Java 17+.
nf_opens=()
for p in java.lang java.io java.nio java.net java.util java.util.concurrent java.util.concurrent.locks \
         java.util.concurrent.atomic java.util.regex java.text java.time sun.nio.ch sun.nio.fs \
         sun.net.www.protocol.http sun.net.www.protocol.https sun.net.www.protocol.ftp sun.net.www.protocol.file; do
  nf_opens+=("--add-opens=java.base/$p=ALL-UNNAMED")
done
export NXF_HOME=$out/nxf-home NXF_OFFLINE=true NXF_DISABLE_CHECK_LATEST=true NXF_ANSI_LOG=false
export PATH="$root/bin:$PATH"   # the modules call ssmtk from PATH
nextflow() { "$nf_java" "${nf_opens[@]}" -cp "$nf_lib/*" nextflow.cli.Launcher "$@"; }
