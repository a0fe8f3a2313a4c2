# An arm64 Debian 12 root run on this amd64 machine through qemu-user (binfmt_misc), for
# `./shebao deb --arch arm64` (packaging/deb/build.sh) and scripts/test-arm64.sh. Sourced, as root.
#   arm64_lock             one user of binfmt_misc and the cache at a time (/run/lock/shebao-arm64.lock,
#                          held until the process ends; its children inherit it)
#   arm64_setup            arm64_lock, host tools (qemu-user-static, debootstrap: apt-get when
#                          missing), binfmt on
#   arm64_base [SUITE]     sets ARM64_BASE_ROOT: the cached minbase root ($ARM64_CACHE/base-bookworm,
#                          made once by debootstrap; never changed afterwards, roots are made from it)
#   arm64_overlay LOWER DIR  sets ARM64_ROOT: a fresh root in DIR/root, LOWER seen through an overlay
#                          whose changes go to DIR (LOWER stays as it is), with /proc, /dev/pts, apt cache
#   arm64_build_root       sets ARM64_BUILD_ROOT: the base plus what compiling a C extension needs
#                          (python3-dev, gcc, swig, libpcsclite-dev; cached, made once)
#   arm64_mount_proc ROOT  /proc and a private /dev/pts inside ROOT (the other device nodes come with
#                          debootstrap: the host's /dev is not bound in)
#   arm64_run ROOT CMD…    CMD inside ROOT, with a clean environment, at nice 15
#   arm64_spawn ROOT CMD…  the same for `arm64_spawn … &`: it execs, so $! is CMD's own pid
#   arm64_cleanup          unmounts what arm64_* mounted, newest first, and restores binfmt_misc:
#                          only the registration this file added is removed, binfmt_misc unmounted
#                          only if it was not mounted before. Call it from the caller's EXIT trap.
# The cache ($SHEBAO_ARM64_CACHE, default /var/cache/shebao-arm64) keeps the roots, apt's downloads
# and built wheels between runs; delete it to start from scratch.
ARM64_CACHE=${SHEBAO_ARM64_CACHE:-/var/cache/shebao-arm64}
ARM64_SUITE=bookworm
ARM64_BINFMT=/proc/sys/fs/binfmt_misc
ARM64_ENTRY=shebao-qemu-aarch64         # our own name: never confused with a registration someone else made
ARM64_MOUNTS=()
ARM64_ADDED_ENTRY=""
ARM64_MOUNTED_BINFMT=""
# aarch64 ELF executables, as Debian's /usr/lib/binfmt.d/qemu-aarch64.conf matches them.
ARM64_MAGIC='\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
ARM64_MASK='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'

arm64_log() { printf '[arm64] %s\n' "$*" >&2; }

arm64_host_tools() {
  local missing=()
  [[ -x /usr/bin/qemu-aarch64-static ]] || missing+=(qemu-user-static)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [[ ${#missing[@]} == 0 ]] && return 0
  arm64_log "apt-get install ${missing[*]} (on this host)"
  # No binfmt-support: qemu-user-static's postinst then registers nothing; arm64_binfmt_on does it
  # for this run only.
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# The Debian mirror this host's apt uses (deb822 sources or sources.list), else deb.debian.org.
arm64_mirror() {
  local url
  url=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\/debian\/\{0,1\}\)[[:space:]]*$/\1/p' \
    /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [[ -n $url ]] || url=$(sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\{0,1\}\([^[:space:]]*\/debian\/\{0,1\}\)[[:space:]]\+bookworm[[:space:]].*/\2/p' \
    /etc/apt/sources.list 2>/dev/null | head -1)
  echo "${url:-http://deb.debian.org/debian}"
}

# An enabled registration for aarch64 ELF already there (ours or anyone's)?
arm64_binfmt_present() {
  local entry
  for entry in "$ARM64_BINFMT"/*; do
    [[ -f $entry && $entry != */register && $entry != */status ]] || continue
    grep -qx enabled "$entry" && grep -qx 'magic 7f454c460201010000000000000000000200b700' "$entry" && return 0
  done
  return 1
}

arm64_binfmt_on() {
  if [[ ! -e $ARM64_BINFMT/register ]]; then
    mount -t binfmt_misc binfmt_misc "$ARM64_BINFMT"
    ARM64_MOUNTED_BINFMT=1
  fi
  if arm64_binfmt_present; then
    arm64_log "binfmt: an aarch64 handler is already registered; using it"
    return 0
  fi
  # F: the kernel opens qemu now, so it works inside the chroot without a copy there. P with
  # Debian's -binfmt-P name: the program keeps its own argv[0] (as Debian's own registration does).
  local interp=/usr/libexec/qemu-binfmt/aarch64-binfmt-P flags=POF
  [[ -x $interp ]] || { interp=/usr/bin/qemu-aarch64-static; flags=OF; }
  printf ':%s:M::%s:%s:%s:%s\n' "$ARM64_ENTRY" "$ARM64_MAGIC" "$ARM64_MASK" "$interp" "$flags" \
    >"$ARM64_BINFMT/register"
  ARM64_ADDED_ENTRY=$ARM64_ENTRY
  arm64_log "binfmt: registered $ARM64_ENTRY → $interp (removed again at the end)"
}

arm64_binfmt_restore() {
  if [[ -n $ARM64_ADDED_ENTRY && -e $ARM64_BINFMT/$ARM64_ADDED_ENTRY ]]; then
    echo -1 >"$ARM64_BINFMT/$ARM64_ADDED_ENTRY"
  fi
  ARM64_ADDED_ENTRY=""
  if [[ -n $ARM64_MOUNTED_BINFMT ]]; then
    umount "$ARM64_BINFMT"
    ARM64_MOUNTED_BINFMT=""
  fi
}

arm64_lock() {
  [[ -n ${SHEBAO_ARM64_LOCKED:-} ]] && return 0
  exec {ARM64_LOCK_FD}>/run/lock/shebao-arm64.lock
  if ! flock -n "$ARM64_LOCK_FD"; then
    arm64_log "another arm64 build or test is running; waiting for it"
    flock "$ARM64_LOCK_FD"
  fi
  export SHEBAO_ARM64_LOCKED=1
}

arm64_setup() {
  [[ $(id -u) == 0 ]] || { echo "arm64 chroot: run as root" >&2; return 2; }
  arm64_lock
  [[ $(uname -m) == aarch64 ]] && return 0   # a real arm64 machine needs no emulation
  arm64_host_tools
  arm64_binfmt_on
}

arm64_base() {
  local suite=${1:-$ARM64_SUITE}
  local base=$ARM64_CACHE/base-$suite
  ARM64_BASE_ROOT=$base
  if [[ ! -x $base/bin/sh ]]; then
    local mirror; mirror=$(arm64_mirror)
    arm64_log "debootstrap --arch arm64 --variant=minbase $suite from $mirror (once; cached in $base)"
    rm -rf "$base.tmp"; mkdir -p "$ARM64_CACHE"
    nice -n 15 debootstrap --arch arm64 --variant=minbase "$suite" "$base.tmp" "$mirror" >"$ARM64_CACHE/debootstrap.log" 2>&1 ||
      { tail -20 "$ARM64_CACHE/debootstrap.log" >&2; return 1; }
    # The same suites as the host: security and point-release updates.
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s-security %s-security main\n' \
      "$mirror" "$suite" "$mirror" "$suite" "${mirror%/debian*}/debian" "$suite" \
      >"$base.tmp/etc/apt/sources.list"
    # Services must never start inside the root during apt (they would take the host's ports).
    printf '#!/bin/sh\nexit 101\n' >"$base.tmp/usr/sbin/policy-rc.d"; chmod +x "$base.tmp/usr/sbin/policy-rc.d"
    # Downloaded packages are kept in the cache (bound in by arm64_apt_cache), not removed after install.
    rm -f "$base.tmp/etc/apt/apt.conf.d/docker-clean"
    mv "$base.tmp" "$base"
  fi
}

arm64_build_root() {
  ARM64_BUILD_ROOT=$ARM64_CACHE/build-$ARM64_SUITE
  local root=$ARM64_BUILD_ROOT
  [[ -x $root/usr/bin/swig ]] && return 0
  arm64_log "making the arm64 build root $root (once)"
  rm -rf "$root.tmp"; cp -a "$ARM64_BASE_ROOT" "$root.tmp"
  local before=${#ARM64_MOUNTS[@]}
  arm64_mount_proc "$root.tmp"; arm64_apt_cache "$root.tmp"
  arm64_run "$root.tmp" apt-get update -qq
  arm64_run "$root.tmp" apt-get install -y -qq --no-install-recommends python3-dev python3-pip \
    python3-setuptools python3-wheel swig gcc libc6-dev libpcsclite-dev >/dev/null
  arm64_unmount_since "$before"
  mv "$root.tmp" "$root"
}

arm64_overlay() {
  local lower=$1 dir=$2
  ARM64_ROOT=$dir/root
  mkdir -p "$dir/upper" "$dir/overlay-work" "$ARM64_ROOT"
  arm64_mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/overlay-work" "$ARM64_ROOT"
  arm64_mount_proc "$ARM64_ROOT"
  arm64_apt_cache "$ARM64_ROOT"
}

arm64_mount() {  # arm64_mount [mount args…] TARGET: mounts and remembers it for arm64_cleanup
  mount "$@"
  ARM64_MOUNTS+=("${!#}")
}

arm64_mount_proc() {
  arm64_mount -t proc proc "$1/proc"
  arm64_mount -t devpts -o newinstance,ptmxmode=0666 devpts "$1/dev/pts"
}

# apt's downloaded .debs shared by every root made from the base (and kept between runs).
arm64_apt_cache() {
  mkdir -p "$ARM64_CACHE/apt-archives/partial"
  arm64_mount --bind "$ARM64_CACHE/apt-archives" "$1/var/cache/apt/archives"
}

arm64_run() {
  local root=$1; shift
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  nice -n 15 chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}

arm64_spawn() {
  local root=$1; shift
  exec nice -n 15 chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 "$@"
}

arm64_unmount_since() {  # unmounts what was mounted after the first N mounts, newest first
  local i
  for ((i = ${#ARM64_MOUNTS[@]} - 1; i >= $1; i--)); do
    umount "${ARM64_MOUNTS[i]}" 2>/dev/null || umount -l "${ARM64_MOUNTS[i]}"
    unset 'ARM64_MOUNTS[i]'
  done
}

arm64_unmount_all() { arm64_unmount_since 0; }

arm64_cleanup() {
  arm64_unmount_all
  arm64_binfmt_restore
}
