#!/usr/bin/env bash
# The two secret scanners whose rules ship in docs/scanners/, at pinned
# versions, for test/scanners.test.ts (which runs this) and .ci/run:
#
#   gitleaks        built from its Go module with the machine's Go (gitleaks
#                   publishes binaries only on its release page; the Go module
#                   proxy is the registry this build reaches)
#   detect-secrets  Yelp's, from PyPI, in a virtual environment
#
# Both go into a per-user cache outside the clone (as the local database
# does, src/localdb/secantusdb.ts), so every clone and every test run shares
# one install, made once (86 s with nothing cached); a second run only checks
# the versions (0.2 s). Each is made in a private folder and renamed into
# place when complete, so a half-made install is never used. A change of pins
# gets a new folder.
#
# Prints two lines, `gitleaks <binary>` and `detect-secrets <python>`; the
# python runs the scanner as `python -m detect_secrets` (a venv's console
# scripts name the folder it was made in, which the rename changes). On
# failure, says which tool, which step, and the tool's own message.
set -euo pipefail

GITLEAKS_MODULE=github.com/zricethezav/gitleaks/v8
GITLEAKS_VERSION=v8.30.1
# detect-secrets and its whole dependency tree, pinned, so a new upload cannot change what the test proves.
DETECT_SECRETS_VERSION=1.5.0
DETECT_SECRETS_REQUIREMENTS=(
  "detect-secrets==$DETECT_SECRETS_VERSION"
  'PyYAML==6.0.4'
  'requests==2.34.2'
  'certifi==2026.10.19.post1'
  'charset-normalizer==3.5.3'
  'idna==3.20'
  'urllib3==2.8.0'
)

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/tokenauth"
mkdir -p "$CACHE"
fail() {
  echo "scripts/scanners.sh: $*" >&2
  exit 1
}

# --- gitleaks ---------------------------------------------------------------
gitleaks_dir="$CACHE/gitleaks-$GITLEAKS_VERSION"
gitleaks="$gitleaks_dir/gitleaks"
if [ "$("$gitleaks" version 2>/dev/null || true)" != "$GITLEAKS_VERSION" ]; then
  go=$(command -v go || true)
  [ -z "$go" ] && [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go
  [ -n "$go" ] || fail "gitleaks: no Go toolchain found (gitleaks $GITLEAKS_VERSION is built with 'go install', which needs Go 1.24+ on PATH)"
  rm -rf "$gitleaks_dir" # a broken or half-removed copy, never a good one (the check above ran it)
  staging=$(mktemp -d "$gitleaks_dir.installing-XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  echo "Building gitleaks $GITLEAKS_VERSION with $("$go" version | cut -d' ' -f3) into $gitleaks_dir (first use only, a minute or two)..." >&2
  # The version is stamped in as gitleaks' own release build does, so `gitleaks version` can be checked above.
  if ! out=$(GOBIN="$staging" GOFLAGS=-buildvcs=false "$go" install -trimpath \
    -ldflags "-s -w -X $GITLEAKS_MODULE/version.Version=$GITLEAKS_VERSION" "$GITLEAKS_MODULE@$GITLEAKS_VERSION" 2>&1); then
    fail "gitleaks: 'go install $GITLEAKS_MODULE@$GITLEAKS_VERSION' failed (GOPROXY=$("$go" env GOPROXY)):
$out"
  fi
  mkdir -p "$staging/final"
  mv "$staging/gitleaks" "$staging/final/gitleaks"
  # Another run may have finished first: keep its copy, drop ours.
  mv -T "$staging/final" "$gitleaks_dir" 2>/dev/null || true
  rm -rf "$staging"
  trap - EXIT
  got=$("$gitleaks" version 2>&1 || true)
  [ "$got" = "$GITLEAKS_VERSION" ] || fail "gitleaks: built, but '$gitleaks version' says '$got', not $GITLEAKS_VERSION (remove $gitleaks_dir and run again)"
fi

# --- detect-secrets ---------------------------------------------------------
pins=$(printf '%s\n' "${DETECT_SECRETS_REQUIREMENTS[@]}" | sha256sum | cut -c1-8)
ds_dir="$CACHE/detect-secrets-$DETECT_SECRETS_VERSION-$pins"
ds_python="$ds_dir/bin/python"
if [ "$("$ds_python" -m detect_secrets --version 2>/dev/null || true)" != "$DETECT_SECRETS_VERSION" ]; then
  python=$(command -v python3 || true)
  [ -n "$python" ] || fail "detect-secrets: no python3 on PATH (it needs Python 3.8+ with venv)"
  rm -rf "$ds_dir"
  staging=$(mktemp -d "$ds_dir.installing-XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  echo "Installing detect-secrets $DETECT_SECRETS_VERSION from PyPI into $ds_dir (first use only, seconds)..." >&2
  out=$("$python" -m venv "$staging/venv" 2>&1) || fail "detect-secrets: '$python -m venv' failed (Debian needs python3-venv):
$out"
  if ! out=$("$staging/venv/bin/python" -m pip install --no-input --disable-pip-version-check --quiet "${DETECT_SECRETS_REQUIREMENTS[@]}" 2>&1); then
    fail "detect-secrets: 'pip install ${DETECT_SECRETS_REQUIREMENTS[*]}' failed:
$out"
  fi
  mv -T "$staging/venv" "$ds_dir" 2>/dev/null || true
  rm -rf "$staging"
  trap - EXIT
  got=$("$ds_python" -m detect_secrets --version 2>&1 || true)
  [ "$got" = "$DETECT_SECRETS_VERSION" ] || fail "detect-secrets: installed, but '$ds_python -m detect_secrets --version' says '$got', not $DETECT_SECRETS_VERSION (remove $ds_dir and run again)"
fi

echo "gitleaks $gitleaks"
echo "detect-secrets $ds_python"
