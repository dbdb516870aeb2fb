#!/usr/bin/env bash
# Installs the tools tests and `make dev` run against into ./bin, only when a
# tool is missing or was built from another version. Quiet when there is
# nothing to do.
#
# The version stamp is the binary's own Go build info (`go version -m`),
# which `go install` writes: it cannot drift from the binary the way a
# separate stamp file could, and `temporal --version` of a `go install` build
# says 0.0.0-DEV, so the binary cannot be asked directly.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/bin"

# name | package | module | version
tools=(
	"temporal|github.com/temporalio/cli/cmd/temporal|github.com/temporalio/cli|v1.5.1"
	"stripe-mock|github.com/stripe/stripe-mock|github.com/stripe/stripe-mock|v0.203.0"
)

# built_version prints the version of module that built binary, or nothing.
built_version() {
	local binary="$1" module="$2"
	[[ -x "$binary" ]] || return 0
	# Not a Go binary (or not ours): no version, so it is rebuilt.
	{ go version -m "$binary" 2>/dev/null || true; } | awk -v m="$module" '$1 == "mod" && $2 == m { print $3 }'
}

# Debian's Chromium drives the browser test of the Temporal UI. A test tool's
# own browser download cannot work here, so it comes from the distribution.
# The script lint (make test's last step) runs Debian's shellcheck.
debs=()
command -v chromium >/dev/null || debs+=(chromium)
command -v shellcheck >/dev/null || debs+=(shellcheck)
if ((${#debs[@]} > 0)); then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "install-tools: installing Debian's ${debs[*]} (the UI browser test, the script lint)" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >/dev/null
	elif [[ " ${debs[*]} " == *" chromium "* ]]; then
		echo "install-tools: chromium is missing; install it (sudo apt-get install chromium): the UI browser test needs it" >&2
		exit 1
	else
		echo "install-tools: shellcheck is missing (sudo apt-get install shellcheck): make test skips the script lint" >&2
	fi
fi

# Debian's prometheus package gives the Prometheus server the metrics test
# scrapes the programs with, and promtool, which checks deploy/prometheus's
# rules. Both are needed: a missing one fails make test, it is never
# skipped. Without its recommends (node-exporter, a service of its own).
# Where an init system runs, Debian also starts its service on :9090; the
# tests start their own Prometheus on a free port and do not use it.
if ! command -v prometheus >/dev/null || ! command -v promtool >/dev/null; then
	if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
		echo "install-tools: installing Debian's prometheus (the metrics test, promtool check rules)" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
	else
		echo "install-tools: prometheus is missing; install it (sudo apt-get install --no-install-recommends prometheus): the metrics test and promtool need it" >&2
		exit 1
	fi
fi

missing=()
for entry in "${tools[@]}"; do
	IFS='|' read -r name pkg module version <<<"$entry"
	if [[ "$(built_version "$bin/$name" "$module")" != "$version" ]]; then
		missing+=("$entry")
	fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

mkdir -p "$bin"
# One installer at a time: `make dev` and `make test` may start together.
exec 9>"$bin/.install-tools.lock"
flock 9

for entry in "${missing[@]}"; do
	IFS='|' read -r name pkg module version <<<"$entry"
	# Another installer may have finished it while we waited for the lock.
	have="$(built_version "$bin/$name" "$module")"
	[[ "$have" == "$version" ]] && continue
	was="${have:-missing}"
	if [[ -z "$have" && -e "$bin/$name" ]]; then
		was="not a $module build"
	fi
	echo "install-tools: building $name $version into bin/ (was: $was); the Temporal CLI takes several minutes the first time" >&2
	start=$SECONDS
	# go install refuses to overwrite a file it did not build.
	rm -f "$bin/$name"
	GOBIN="$bin" go install "$pkg@$version"
	have="$(built_version "$bin/$name" "$module")"
	if [[ "$have" != "$version" ]]; then
		echo "install-tools: $name reports version '${have:-none}' after installing $version" >&2
		exit 1
	fi
	echo "install-tools: $name $version ready in $((SECONDS - start))s" >&2
done
