# Sourced by scripts/nextflow-check.sh after scripts/nextflow-env.sh: defines nf_test() running nf-test
# (askimed/nf-test) built from its sources at a pinned commit, against the Nextflow 24.10.0 that
# nextflow-env.sh provides. nf-test is not on Maven Central and has no Debian package, so it is built
# here with Maven (its dependencies all resolve from Central; about 35 s with them downloaded) and the
# jar cached in $NF_TEST_CACHE (default ~/.cache/ssmtk/nf-test/COMMIT), built once per machine.
# Its sources come from $NF_TEST_SRC, a git clone of askimed/nf-test holding the pinned commit (none is
# committed here). With neither the cached jar nor the sources, nf_test_jar stays empty and the caller
# says so. nf-test runs tests by calling `nextflow` from PATH, so this writes a `nextflow` script that
# runs the Maven Central Nextflow (nextflow-env.sh's java, classpath and --add-opens) into $out/nf-bin.
nf_test_commit=200315a6cd7e168f9673176705604b29698fc182   # tag v0.9.5
nf_test_cache=${NF_TEST_CACHE:-${HOME:-/root}/.cache/ssmtk/nf-test/$nf_test_commit}
nf_test_jar=""
nf_test_why=""
if [ ! -f "$nf_test_cache/nf-test.jar" ]; then
  if [ -z "${NF_TEST_SRC:-}" ]; then
    nf_test_why="no nf-test jar in $nf_test_cache and no NF_TEST_SRC (a git clone of askimed/nf-test with commit $nf_test_commit) to build it from"
  elif ! git -C "$NF_TEST_SRC" cat-file -e "$nf_test_commit^{commit}" 2>/dev/null; then
    nf_test_why="NF_TEST_SRC=$NF_TEST_SRC is not a git clone of askimed/nf-test holding commit $nf_test_commit"
  else
    nf_build=$(mktemp -d)
    # Only the build's inputs: pom.xml and src/main (the tests and the release assembly are skipped).
    git -C "$NF_TEST_SRC" archive "$nf_test_commit" pom.xml src/main | tar -x -C "$nf_build"
    echo "nf-test-env: building nf-test $nf_test_commit from its sources (Maven Central dependencies)" >&2
    if (cd "$nf_build" && mvn -B -q -DskipTests -Dassembly.skipAssembly=true package > "$nf_build/build.log" 2>&1); then
      mkdir -p "$nf_test_cache"
      cp "$nf_build/target/nf-test.jar" "$nf_test_cache/nf-test.jar.partial"
      mv "$nf_test_cache/nf-test.jar.partial" "$nf_test_cache/nf-test.jar"
    else
      tail -n 30 "$nf_build/build.log" >&2
      nf_test_why="building nf-test from $NF_TEST_SRC failed (Maven's output above)"
    fi
    rm -rf "$nf_build"
  fi
fi
if [ -f "$nf_test_cache/nf-test.jar" ]; then
  nf_test_jar=$nf_test_cache/nf-test.jar
  mkdir -p "$out/nf-bin"
  { echo '#!/usr/bin/env bash'; printf 'exec %q' "$nf_java"; printf ' %q' "${nf_opens[@]}" -cp "$nf_lib/*" nextflow.cli.Launcher
    echo ' "$@"'; } > "$out/nf-bin/nextflow"
  chmod +x "$out/nf-bin/nextflow"
fi
# nf-test's own Groovy is 4.0, like Nextflow's: it runs on the same JDK 17..23.
nf_test() { PATH="$out/nf-bin:$PATH" "$nf_java" -jar "$nf_test_jar" "$@"; }
