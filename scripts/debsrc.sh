# shellcheck shell=bash
# scripts/debsrc.sh - fetching Debian source packages; sourced by deps.sh and
# cross.sh (and so run under their `set -euo pipefail`), never run on its own.
#
# Owns /etc/apt/sources.list.d/subgate-deb-src.sources (only created when no
# deb-src entry is configured; mirrors the existing Debian "deb" entries).
# Each source package lands in $WORK/src and is unpacked to $WORK/build/PKG.
#
# The caller defines: say MSG, die MSG, SCRIPT_TAG (the prefix of messages),
# WORK and LOGDIR (existing directories). Provides: in_dir, run, apt_update,
# ensure_deb_src, fetch (sets FETCHED_VERSION), and APT_OPTS for its own
# apt-get calls.

APT_OPTS=(-q -o APT::Sandbox::User=root)   # we run as root; silence the _apt sandbox warning
DEB_SRC_FILE=/etc/apt/sources.list.d/subgate-deb-src.sources

in_dir() ( cd "$1" && shift && exec "$@" )   # in_dir DIR CMD... (subshell)

# run LOG CMD... : run CMD with all output appended to LOG; on failure show the
# tail of the log and abort.
run() {
    local log="$1"; shift
    printf '\n+ %s\n' "$*" >>"$log"
    if ! "$@" >>"$log" 2>&1; then
        printf '%s: error: command failed: %s\n' "$SCRIPT_TAG" "$*" >&2
        printf '%s: last lines of %s:\n' "$SCRIPT_TAG" "$log" >&2
        tail -n 40 "$log" | sed 's/^/  | /' >&2
        exit 1
    fi
}

APT_UPDATED=0
apt_update() {
    [ "$APT_UPDATED" = 1 ] && return 0
    [ "$(id -u)" = 0 ] || die "apt-get update needed; run as root"
    say "apt-get update"
    run "$LOGDIR/apt.log" apt-get "${APT_OPTS[@]}" update
    APT_UPDATED=1
}

# --- deb-src entries -------------------------------------------------------------
have_deb_src() {
    apt-get indextargets --format '$(IDENTIFIER)' 2>/dev/null | grep -qx Sources
}

# Print deb822 "Types: deb-src" stanzas mirroring the enabled Debian "deb"
# entries. Only URIs containing "debian" are considered, and entries signed
# with a non-Debian keyring (e.g. download.docker.com/linux/debian) are skipped.
debian_src_stanzas() {
    local f
    # deb822 files
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && [ "$f" != "$DEB_SRC_FILE" ] || continue
        awk '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && uris ~ /debian/ && enabled !~ /^[Nn]o/ &&
                    (signed == "" || signed ~ /debian-archive/)) {
                    print "Types: deb-src"; print "URIs: " uris
                    print "Suites: " suites; print "Components: " comps
                    if (signed != "") print "Signed-By: " signed
                    print ""
                }
                types = uris = suites = comps = signed = enabled = ""
            }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            /^[ \t]/   { next }        # continuation line (e.g. inline key): ignore
            {
                key = tolower($1); sub(/:$/, "", key)
                val = $0; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
                if (key == "types") types = val
                else if (key == "uris") uris = val
                else if (key == "suites") suites = val
                else if (key == "components") comps = val
                else if (key == "signed-by") signed = val
                else if (key == "enabled") enabled = val
            }
            END { flush() }' "$f"
    done
    # legacy one-line format: deb [opts] URI SUITE COMPONENT...
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '
            $1 != "deb" { next }
            {
                signed = ""; i = 2
                if ($2 ~ /^\[/) {
                    while (i <= NF) {
                        o = $i; gsub(/[\[\]]/, "", o)
                        if (o ~ /^signed-by=/) { signed = o; sub(/^signed-by=/, "", signed) }
                        if ($i ~ /\]$/) { i++; break }
                        i++
                    }
                }
                uri = $i; suite = $(i + 1); comps = ""
                for (j = i + 2; j <= NF && $j !~ /^#/; j++) comps = comps (comps == "" ? "" : " ") $j
                if (uri !~ /debian/ || (signed != "" && signed !~ /debian-archive/)) next
                print "Types: deb-src"; print "URIs: " uri
                print "Suites: " suite; print "Components: " comps
                if (signed != "") print "Signed-By: " signed
                print ""
            }' "$f"
    done
}

ensure_deb_src() {
    have_deb_src && return 0
    local content
    content="$(printf '# Written by subgate scripts/deps.sh: deb-src mirror of the Debian deb entries.\n'; debian_src_stanzas)"
    grep -q '^Types: deb-src' <<<"$content" || die "no Debian 'deb' entries found to mirror as deb-src"
    if [ ! -f "$DEB_SRC_FILE" ] || [ "$(cat "$DEB_SRC_FILE")" != "$content" ]; then
        [ "$(id -u)" = 0 ] || die "no deb-src entries configured; run as root to add $DEB_SRC_FILE"
        say "adding deb-src entries: $DEB_SRC_FILE"
        printf '%s\n' "$content" >"$DEB_SRC_FILE"
    fi
    APT_UPDATED=0     # new index targets: force a fresh update
    apt_update
}

# --- fetch a source package ----------------------------------------------------
# fetch PKG VERSION: download the .dsc/.orig/.debian into $WORK/src (apt checks
# them against the signed Sources index) and unpack a fresh tree into
# $WORK/build/PKG with dpkg-source (applies debian/patches).
fetch() {
    local pkg="$1" ver="$2" log="$LOGDIR/$1.log" dsc spec="$1${2:+=$2}"
    say "fetching $pkg ${ver:-(current version)}"
    rm -f "$WORK/src/${pkg}_"*
    # Try with the current indexes first; on failure add deb-src entries if
    # none exist, and finally retry after an apt-get update.
    if ! in_dir "$WORK/src" apt-get "${APT_OPTS[@]}" source --download-only "$spec" >>"$log" 2>&1; then
        ensure_deb_src
        if ! in_dir "$WORK/src" apt-get "${APT_OPTS[@]}" source --download-only "$spec" >>"$log" 2>&1; then
            apt_update
            run "$log" in_dir "$WORK/src" apt-get "${APT_OPTS[@]}" source --download-only "$spec"
        fi
    fi
    if grep -qi 'hash sum mismatch' "$log"; then
        die "apt reported a hash mismatch for $pkg (see $log)"
    fi
    dsc="$(ls "$WORK/src/${pkg}_"*.dsc 2>/dev/null | head -n 1)"
    [ -n "$dsc" ] && [ -f "$dsc" ] || die "no ${pkg}_*.dsc after apt-get source"
    # shellcheck disable=SC2034  # read by the caller
    FETCHED_VERSION="$(sed -n 's/^Version: //p' "$dsc" | head -n 1)"

    rm -rf "$WORK/build/$pkg"
    mkdir -p "$WORK/build"
    local xlog="$LOGDIR/$pkg.extract.log"
    : >"$xlog"
    run "$xlog" dpkg-source -x "$dsc" "$WORK/build/$pkg"
    cat "$xlog" >>"$log"
    if grep -Eqi 'mismatch|checksum|(has size|expected) ' "$xlog"; then
        die "dpkg-source reported a checksum problem for $pkg: $(grep -Ei 'mismatch|checksum|size' "$xlog" | head -n 3)"
    fi
}
