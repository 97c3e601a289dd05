#!/usr/bin/env bash
# Keepline set-up, as root on Debian 12. Safe to run again.
#
#   ./setup.sh run    install dependencies, build, run `keepline serve`
#                     in the foreground with the built-in configuration
#   ./setup.sh test   install dependencies, build with -Werror, run the
#                     test suite; again with ASan+UBSan; then distcheck.
#                     Exits non-zero when any test fails.
#
# Builds go to build/ and build-asan/ beside this script.
set -euo pipefail

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

BUILD_PKGS="gcc make autoconf automake pkg-config libsofia-sip-ua-dev
            libre-dev libssl-dev uuid-dev libyaml-dev"
TEST_PKGS="python3 sip-tester iperf3 iproute2 openssl clang libclang-rt-14-dev
	prometheus docker.io docker-compose debootstrap python3-cryptography
	fping irtt"

say() { printf '==> %s\n' "$*" >&2; }

install_deps() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	if [ "$(id -u)" -ne 0 ]; then
		say "missing Debian packages: ${missing[*]}"
		say "run this script as root, or install them first"
		exit 1
	fi
	say "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# build DIR [configure flags...]: configure once, then make
build() {
	local dir=$1
	shift
	if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	   [ Makefile.am -nt configure ]; then
		say "autoreconf"
		autoreconf -fi
	fi
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ configure -nt "$dir/Makefile" ] ||
	   [ "$(cat "$dir/.flags" 2>/dev/null)" != "$*" ]; then
		say "configure $dir $*"
		(cd "$dir" && "$top/configure" -q "$@")
		echo "$*" >"$dir/.flags"
	fi
	say "make in $dir"
	make -C "$dir" -j"$(nproc)" >/dev/null
}

# check DIR TARGET: run a test target, keep its output, count results
passed=0
failed=0
check() {
	local dir=$1 target=$2 out rc=0
	out="$dir/$target.out"
	say "make $target in $dir"
	set +e
	make -C "$dir" -j"$(nproc)" "$target" 2>&1 | tee "$out" |
		grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):|^# [A-Z]+:'
	rc=${PIPESTATUS[0]}
	set -e
	passed=$((passed + $(awk '/^# PASS:/ {n += $3} END {print n + 0}' "$out")))
	failed=$((failed + $(awk '/^# (FAIL|ERROR|XPASS):/ {n += $3}
		END {print n + 0}' "$out")))
	if [ "$rc" -ne 0 ]; then
		say "make $target failed in $dir (see $out and $dir/test-suite.log)"
		failed=$((failed > 0 ? failed : 1))
	fi
}

case "${1:-}" in
run)
	install_deps $BUILD_PKGS
	build build
	say "starting build/keepline serve (Ctrl-C stops it);" \
	    "in another shell: build/keepline status"
	exec build/keepline serve
	;;
test)
	install_deps $BUILD_PKGS $TEST_PKGS
	build build --enable-werror
	check build check
	check build check-compose
	build build-asan --enable-asan --enable-werror
	check build-asan check
	check build distcheck
	echo "tests: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	;;
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac
