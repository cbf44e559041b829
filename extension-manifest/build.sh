#!/usr/bin/env bash
# Builds the agentpool Azure DevOps extension (.vsix) from nothing, on Debian (bookworm) as root or
# with sudo:
#
#   extension-manifest/build.sh                 everything: tools, both cross builds, the .vsix
#   extension-manifest/build.sh --skip-cross    reuses the binaries already in target/vsix/bin
#                                               (also AGENTPOOL_VSIX_SKIP_CROSS=1)
#
# 1. Installs what is missing: Debian's packages (the distribution's Rust toolchain with its
#    standard library's source, musl, mingw-w64, LLVM's libunwind) and tfx-cli (npm ci, pinned in
#    package-lock.json, into extension-manifest/node_modules).
# 2. Cross-builds the `agentpool` binary (package `agentpool`, profile `dist` of the root
#    Cargo.toml) for x86_64-unknown-linux-musl (static-pie: runs on any x86-64 Linux, Ubuntu 20.04
#    agents included) and x86_64-pc-windows-gnu, with Debian's cargo and rustc building the
#    standard library for each target (-Zbuild-std), in target/cross/.
# 3. Copies them to target/vsix/bin/{linux-x64/agentpool,windows-x64/agentpool.exe} (for tests) and
#    compresses each with brotli (Node's zlib, quality 11, window 24) as the task launcher expects
#    it (bin/<platform>/<binary>.br, decompressed on the agent at its first run).
# 4. Stages target/vsix/stage/ (vss-extension.json, overview.md, images, every task folder with its
#    task.json, icon, launcher.js and both compressed binaries) and runs `tfx extension create`.
#    Any warning or error of tfx fails the build. Prints the .vsix's path and size.
#
# Cached builds are fast: cargo's output stays in target/cross/, the compressed binaries are kept
# beside their sources in target/vsix/br/ and made again only when a binary changes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest_dir="$root/extension-manifest"
out="$root/target/vsix"
cross_target="$root/target/cross"
toolchain="$cross_target/toolchain"
profile="dist"
# The largest .vsix we ship (25 MB): every task folder carries both binaries.
max_vsix_bytes=25000000

linux_triple="x86_64-unknown-linux-musl"
# The win7 flavour of x86_64-pc-windows-gnu: the same ABI and mingw-w64 toolchain, but its standard
# library does not import bcryptprimitives.dll (ProcessPrng), which Wine 8 lacks, so the Windows
# binary can be tested under wine64. It runs on every Windows x64 agent.
windows_triple="x86_64-win7-windows-gnu"
# Debian's Rust toolchain must be at least the workspace's rust-version.
min_rustc="1.88"
debian_packages=(
  rustc-web cargo-web rust-web-src # rustc and cargo, and the standard library's source for -Zbuild-std
  musl-tools                       # musl's libc, headers and crt objects (Linux)
  libunwind-19-dev                 # LLVM's libunwind.a: the unwinder the musl standard library links
  gcc-mingw-w64-x86-64             # mingw-w64 (Windows)
  nodejs npm                       # tfx-cli and the brotli compression
)

skip_cross="${AGENTPOOL_VSIX_SKIP_CROSS:-}"
for arg in "$@"; do
  case "$arg" in
    --skip-cross) skip_cross=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "build.sh: unknown argument '$arg' (see --help)" >&2
      exit 2
      ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }
fail() {
  echo "build.sh: $*" >&2
  exit 1
}
now() { date +%s; }
started=$(now)

# --- 1. tools ----------------------------------------------------------------------------------

as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    fail "installing Debian packages needs root or sudo: $*"
  fi
}

ensure_debian_packages() {
  local missing=() package
  for package in "$@"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" != "install ok installed" ]]; then
      missing+=("$package")
    fi
  done
  # nodejs/npm from elsewhere (a newer Node on PATH) are as good as Debian's.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    local kept=()
    for package in "${missing[@]}"; do
      [[ "$package" == nodejs || "$package" == npm ]] || kept+=("$package")
    done
    missing=("${kept[@]}")
  fi
  if ((${#missing[@]} == 0)); then
    echo "all present"
    return
  fi
  echo "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

step "Debian packages"
ensure_debian_packages "${debian_packages[@]}"

step "tfx-cli (npm ci, pinned in extension-manifest/package-lock.json)"
stamp="$manifest_dir/node_modules/.installed-package-lock.json"
if cmp -s "$manifest_dir/package-lock.json" "$stamp" && [[ -x "$manifest_dir/node_modules/.bin/tfx" ]]; then
  echo "up to date"
else
  (cd "$manifest_dir" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$manifest_dir/package-lock.json" "$stamp"
fi
tfx="$manifest_dir/node_modules/.bin/tfx"

# --- 2. cross builds ---------------------------------------------------------------------------

# PATH without rustup's proxies: the cross builds use Debian's cargo and rustc, whose standard
# library source -Zbuild-std compiles for each target.
clean_path() {
  local entry result=()
  local IFS=:
  for entry in $PATH; do
    [[ "$entry" == *"/.cargo/bin"* || "$entry" == *"/.rustup/"* ]] || result+=("$entry")
  done
  echo "${result[*]}"
}

version_at_least() { [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]; }

# The musl link: static-pie, with musl's own crt objects and LLVM's libunwind. Debian's musl-gcc
# specs know no -static-pie (they would link a PIE that asks for /lib/ld-musl-x86_64.so.1), so
# these specs add it; rustc gets `-C link-self-contained=no` since Debian ships no self-contained
# objects for the target. Files are rewritten only when their content changes: cargo rebuilds
# everything when the linker changes.
write_if_changed() { # file, content on stdin
  local file="$1" new
  new="$(cat)"
  if [[ ! -f "$file" || "$(cat "$file")" != "$new" ]]; then
    printf '%s\n' "$new" >"$file"
  fi
}

prepare_musl_toolchain() {
  local musl_lib=/usr/lib/x86_64-linux-musl musl_include=/usr/include/x86_64-linux-musl
  local libunwind=/usr/lib/llvm-19/lib/libunwind.a
  [[ -f "$musl_lib/rcrt1.o" ]] || fail "$musl_lib/rcrt1.o is missing (Debian package musl-tools)"
  [[ -f "$libunwind" ]] || fail "$libunwind is missing (Debian package libunwind-19-dev)"
  mkdir -p "$toolchain/musl"
  write_if_changed "$toolchain/musl/static-pie.specs" <<EOF
%rename cpp_options old_cpp_options

*cpp_options:
-nostdinc -isystem $musl_include -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem $musl_include -isystem include%s

*link_libgcc:
-L$toolchain/musl -L$musl_lib -L .%s

*libgcc:
libgcc.a%s %:if-exists(libgcc_eh.a%s)

*startfile:
%{static-pie:$musl_lib/rcrt1.o;!shared:$musl_lib/Scrt1.o} $musl_lib/crti.o crtbeginS.o%s

*endfile:
crtendS.o%s $musl_lib/crtn.o

*link:
%{!static-pie:-dynamic-linker /lib/ld-musl-x86_64.so.1} -nostdlib %{shared:-shared} %{static:-static} %{static-pie:-static -pie --no-dynamic-linker -z text} %{rdynamic:-export-dynamic}
EOF
  # Named *-gcc so that rustc passes it gcc-style arguments.
  write_if_changed "$toolchain/musl/x86_64-linux-musl-static-pie-gcc" <<EOF
#!/bin/sh
exec x86_64-linux-gnu-gcc -specs=$toolchain/musl/static-pie.specs "\$@"
EOF
  chmod +x "$toolchain/musl/x86_64-linux-musl-static-pie-gcc"
  # LLVM's libunwind.a is built for glibc with _FORTIFY_SOURCE: its debug output calls
  # __fprintf_chk, which musl does not have. The archive gets that one function, over vfprintf.
  local shim_c="$toolchain/musl/fortify-shim.c"
  write_if_changed "$shim_c" <<'EOF'
#include <stdarg.h>
#include <stdio.h>

int __fprintf_chk(FILE *stream, int flag, const char *format, ...) {
    (void)flag;
    va_list ap;
    va_start(ap, format);
    int written = vfprintf(stream, format, ap);
    va_end(ap);
    return written;
}
EOF
  if [[ ! -f "$toolchain/musl/libunwind.a" || "$toolchain/musl/libunwind.a" -ot "$libunwind" || "$toolchain/musl/libunwind.a" -ot "$shim_c" ]]; then
    musl-gcc -O2 -fPIC -c "$shim_c" -o "$toolchain/musl/fortify-shim.o"
    cp "$libunwind" "$toolchain/musl/libunwind.a.tmp"
    ar rcs "$toolchain/musl/libunwind.a.tmp" "$toolchain/musl/fortify-shim.o"
    mv "$toolchain/musl/libunwind.a.tmp" "$toolchain/musl/libunwind.a"
  fi
}

# cross_build <triple>: the standard library is built for size and without its backtrace
# symbolizer (the binary is stripped, panic=abort: see [profile.dist] in Cargo.toml).
cross_build() {
  local triple="$1" upper started_build
  upper="$(echo "$triple" | tr 'a-z-' 'A-Z_')"
  local -a vars=(
    PATH="$(clean_path)"
    RUSTC=/usr/bin/rustc
    RUSTDOC=/usr/bin/rustdoc
    RUSTC_BOOTSTRAP=1
    CARGO_TARGET_DIR="$cross_target"
    CARGO_TERM_COLOR=never
  )
  case "$triple" in
    *-linux-musl)
      vars+=(
        "CC_${triple//-/_}=musl-gcc"
        "AR_${triple//-/_}=ar"
        "CARGO_TARGET_${upper}_LINKER=$toolchain/musl/x86_64-linux-musl-static-pie-gcc"
        # The binary is stripped, so a backtrace could not name a frame anyway: no unwind tables
        # (x86-64 Windows requires them, Linux does not).
        "CARGO_TARGET_${upper}_RUSTFLAGS=-C link-self-contained=no -C force-unwind-tables=no"
      )
      ;;
    *-windows-gnu)
      vars+=(
        "CC_${triple//-/_}=x86_64-w64-mingw32-gcc"
        "AR_${triple//-/_}=x86_64-w64-mingw32-ar"
        "CARGO_TARGET_${upper}_LINKER=x86_64-w64-mingw32-gcc"
        # No link time in the PE header: the same source gives the same binary.
        "CARGO_TARGET_${upper}_RUSTFLAGS=-C link-self-contained=no -C link-arg=-Wl,--no-insert-timestamp"
      )
      ;;
  esac
  started_build=$(now)
  env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS -u RUSTC_WRAPPER \
    -u RUSTC_WORKSPACE_WRAPPER -u CARGO_BUILD_TARGET -u RUSTUP_TOOLCHAIN -u CARGO "${vars[@]}" \
    /usr/bin/cargo build --locked --profile "$profile" -p agentpool --target "$triple" \
    -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size >&2
  echo "$triple: built in $(($(now) - started_build)) s" >&2
}

linux_bin="$out/bin/linux-x64/agentpool"
windows_bin="$out/bin/windows-x64/agentpool.exe"

if [[ -n "$skip_cross" ]]; then
  step "cross builds skipped: reusing target/vsix/bin"
  for binary in "$linux_bin" "$windows_bin"; do
    [[ -f "$binary" ]] || fail "--skip-cross: $binary is missing; build once without --skip-cross"
  done
else
  step "cross builds (Debian's cargo, -Zbuild-std, profile $profile, in target/cross)"
  rustc_version="$(/usr/bin/rustc --version | awk '{print $2}')"
  version_at_least "$rustc_version" "$min_rustc" ||
    fail "Debian's rustc is $rustc_version; the workspace needs $min_rustc (Debian package rustc-web)"
  [[ -d /usr/lib/rustlib/src/rust/library ]] || fail "the standard library's source is missing (Debian package rust-web-src)"
  echo "rustc $rustc_version, $(/usr/bin/cargo --version)"
  prepare_musl_toolchain
  cross_build "$linux_triple"
  cross_build "$windows_triple"
  mkdir -p "$(dirname "$linux_bin")" "$(dirname "$windows_bin")"
  cp "$cross_target/$linux_triple/$profile/agentpool" "$linux_bin.tmp" && mv "$linux_bin.tmp" "$linux_bin"
  cp "$cross_target/$windows_triple/$profile/agentpool.exe" "$windows_bin.tmp" && mv "$windows_bin.tmp" "$windows_bin"
fi

# --- 3. brotli ---------------------------------------------------------------------------------

step "brotli (quality 11, window 24), kept in target/vsix/br"
# compress <binary> <output.br>: again only when the binary's sha256 differs from the one recorded.
compress() {
  local binary="$1" output="$2" sum
  sum="$(sha256sum "$binary" | awk '{print $1}')"
  if [[ -f "$output" && "$(cat "$output.sha256" 2>/dev/null)" == "$sum" ]]; then
    echo "$(basename "$output"): up to date"
    return
  fi
  mkdir -p "$(dirname "$output")"
  node - "$binary" "$output.tmp" <<'EOF'
const fs = require('fs');
const zlib = require('zlib');
const [source, target] = process.argv.slice(2);
const data = fs.readFileSync(source);
const started = Date.now();
const compressed = zlib.brotliCompressSync(data, {
  params: {
    [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_GENERIC,
    [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
    [zlib.constants.BROTLI_PARAM_LGWIN]: 24,
    [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.length,
  },
});
if (!zlib.brotliDecompressSync(compressed).equals(data)) {
  throw new Error(`${source}: brotli round trip differs`);
}
fs.writeFileSync(target, compressed);
console.log(`${source}: ${data.length} -> ${compressed.length} bytes in ${Date.now() - started} ms`);
EOF
  mv "$output.tmp" "$output"
  echo "$sum" >"$output.sha256"
}
compress "$linux_bin" "$out/br/linux-x64/agentpool.br"
compress "$windows_bin" "$out/br/windows-x64/agentpool.exe.br"

# --- 4. stage and package ----------------------------------------------------------------------

step "stage target/vsix/stage"
stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage/images" "$stage/tasks"
for file in vss-extension.json overview.md; do
  [[ -f "$manifest_dir/$file" ]] || fail "extension-manifest/$file is missing"
  cp "$manifest_dir/$file" "$stage/"
done
cp "$manifest_dir"/images/*.png "$stage/images/"
[[ -f "$manifest_dir/launcher/launcher.js" ]] || fail "extension-manifest/launcher/launcher.js is missing"
tasks=0
for task_dir in "$manifest_dir"/tasks/*/; do
  task="$(basename "$task_dir")"
  [[ -f "$task_dir/task.json" ]] || fail "extension-manifest/tasks/$task has no task.json"
  mkdir -p "$stage/tasks/$task/bin/linux-x64" "$stage/tasks/$task/bin/windows-x64"
  cp "$task_dir/task.json" "$stage/tasks/$task/"
  [[ -f "$task_dir/icon.png" ]] && cp "$task_dir/icon.png" "$stage/tasks/$task/"
  cp "$manifest_dir/launcher/launcher.js" "$stage/tasks/$task/launcher.js"
  cp "$out/br/linux-x64/agentpool.br" "$stage/tasks/$task/bin/linux-x64/"
  cp "$out/br/windows-x64/agentpool.exe.br" "$stage/tasks/$task/bin/windows-x64/"
  tasks=$((tasks + 1))
done
echo "$tasks tasks"

step "tfx extension create"
rm -f "$out"/*.vsix
log="$out/tfx.log"
set +e
"$tfx" extension create --root "$stage" --manifest-globs vss-extension.json --output-path "$out/" \
  --no-prompt --no-color >"$log" 2>&1
status=$?
set -e
cat "$log"
if ((status != 0)); then
  fail "tfx extension create failed (exit $status)"
fi
if grep -qiE '(^|[^a-z])(warning|error)s?:' "$log"; then
  fail "tfx extension create reported warnings or errors (above); the package must build clean"
fi
shopt -s nullglob
vsix_files=("$out"/*.vsix)
shopt -u nullglob
((${#vsix_files[@]} == 1)) || fail "expected one .vsix in $out, found ${#vsix_files[@]}"
vsix="${vsix_files[0]}"
size=$(stat -c %s "$vsix")
if ((size > max_vsix_bytes)); then
  fail "$vsix is $size bytes, over the $max_vsix_bytes bytes allowed"
fi
step "done in $(($(now) - started)) s"
echo "vsix: $vsix"
echo "size: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1000000 }') MB, at most $max_vsix_bytes)"
