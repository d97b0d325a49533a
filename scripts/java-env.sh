# Sourced by the project's scripts: selects a JDK 25 (or newer) for Maven and for the launcher.
# Order: JAVA_HOME if it is 25+, then Temurin 25 at its Debian path, then any JDK 25+ under
# /usr/lib/jvm. Fails with one line if there is none.
ssmtk_java_version() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
ssmtk_select_jdk() {
  local candidate v
  for candidate in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*; do
    [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] || continue
    v=$(ssmtk_java_version "$candidate")
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "ssmtk: no JDK 25 found (set JAVA_HOME, or install Temurin 25 at /usr/lib/jvm/temurin-25-jdk-amd64)" >&2
  return 1
}
