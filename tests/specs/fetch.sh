#!/usr/bin/env bash
# Fetches the official Microsoft specs the tests read (swaggers, examples, schemas) from their
# public repositories at the commits pinned in tests/specs/manifest.tsv, and verifies the git blob
# id of every file against the manifest. Files already in <dest> with the right blob id are kept.
#
#   tests/specs/fetch.sh <dest>
#
# Each file lands at <dest>/<repository name>/<path in that repository>, so relative `$ref`s resolve.
# AGENTPOOL_SPECS_MIRROR replaces https://raw.githubusercontent.com as the base of the downloads
# (`<base>/<owner>/<repository>/<commit>/<path>`; a file:// URL is fine). Prints one line: the
# summary, or the first failure (a download that failed, or a blob id that differs).
#
# Needs bash, curl (installed with apt-get when missing), sha1sum (coreutils) and xargs (findutils).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$here/manifest.tsv"
manifest_name="tests/specs/manifest.tsv"
base="${AGENTPOOL_SPECS_MIRROR:-https://raw.githubusercontent.com}"
base="${base%/}"
parallel=8

# The git blob id of a file: sha1 of "blob <size>\0<bytes>" (what `git hash-object` prints).
blob_id() {
  local size
  size="$(wc -c <"$1")"
  { printf 'blob %d\0' "$size"; cat "$1"; } | sha1sum | cut -d' ' -f1
}

# One manifest line (tab-separated repository, commit, path, blob) into <dest>. Prints `present`
# or `downloaded`; on failure prints one line to stderr and exits 255, which stops xargs.
fetch_one() {
  local dest="$1" repository commit path blob
  IFS=$'\t' read -r repository commit path blob <<<"$2"
  local file="$dest/${repository#*/}/$path"
  if [[ -f "$file" && "$(blob_id "$file")" == "$blob" ]]; then
    echo present
    return 0
  fi
  local url="$base/$repository/$commit/$path" part="$file.part.$$" error actual
  mkdir -p "$(dirname "$file")"
  if ! error="$(curl --fail --silent --show-error --location --retry 3 --connect-timeout 20 -o "$part" "$url" 2>&1)"; then
    rm -f "$part"
    error="${error%$'\n'}"
    echo "could not download $repository@$commit:$path from $url: ${error##*$'\n'}" >&2
    exit 255
  fi
  actual="$(blob_id "$part")"
  if [[ "$actual" != "$blob" ]]; then
    rm -f "$part"
    echo "$repository@$commit:$path from $url has git blob id $actual, expected $blob ($manifest_name)" >&2
    exit 255
  fi
  mv -f "$part" "$file"
  echo downloaded
}

# Every line of the manifest after the header, checked for shape (so a bad line never reaches curl).
entries() {
  local header line
  header="$(head -n 1 "$manifest")"
  if [[ "$header" != $'repository\tcommit\tpath\tblob' ]]; then
    echo "$manifest_name: the first line must be the header 'repository<TAB>commit<TAB>path<TAB>blob'" >&2
    return 1
  fi
  local number=1
  while IFS= read -r line; do
    number=$((number + 1))
    if [[ ! "$line" =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$'\t'[0-9a-f]{40}$'\t'[A-Za-z0-9_.][A-Za-z0-9_./-]*$'\t'[0-9a-f]{40}$ ||
      "$line" == *"/../"* || "$line" == *$'\t'"../"* || "$line" == *"/.."$'\t'* ]]; then
      echo "$manifest_name:$number: not 'owner/repository<TAB>commit<TAB>relative path<TAB>blob id': $line" >&2
      return 1
    fi
    printf '%s\0' "$line"
  done < <(tail -n +2 "$manifest")
}

if [[ "${1:-}" == "--one" ]]; then
  fetch_one "$2" "$3"
  exit 0
fi

if [[ $# -ne 1 ]]; then
  echo "usage: tests/specs/fetch.sh <dest>" >&2
  exit 2
fi
if ! command -v curl >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    apt-get -qq update
    apt-get -qq install -y --no-install-recommends curl ca-certificates >/dev/null
  else
    echo "curl is needed to fetch the official specs" >&2
    exit 1
  fi
fi
mkdir -p "$1"
dest="$(cd "$1" && pwd)"

list="$(mktemp)"
errors="$(mktemp)"
trap 'rm -f "$list" "$errors"' EXIT
entries >"$list"
status=0
results="$(xargs -0 -n 1 -P "$parallel" bash "$here/fetch.sh" --one "$dest" <"$list" 2>"$errors")" || status=$?
if [[ $status -ne 0 ]]; then
  if [[ -s "$errors" ]]; then
    echo "fetching the official specs failed: $(head -n 1 "$errors")" >&2
  else
    echo "fetching the official specs failed (xargs exit $status)" >&2
  fi
  exit 1
fi
downloaded="$(grep -c '^downloaded$' <<<"$results" || true)"
present="$(grep -c '^present$' <<<"$results" || true)"
echo "fetched $((downloaded + present)) official spec files from their public repositories at pinned commits into" \
  "$dest ($manifest_name, git blob ids verified; $downloaded downloaded from $base, $present already present)"
