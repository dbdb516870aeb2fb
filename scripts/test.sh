#!/usr/bin/env bash
# make test: everything CI checks, in one run, from a clean clone.
#
#   1. tools     the Temporal CLI and stripe-mock in bin/ (built if missing:
#                tests run against the real dev server and stripe-mock, and
#                a missing tool fails them, it never skips them)
#   2. go vet
#   3. gofmt     every .go file outside bin/ and .dev/
#   4. go test   every package: unit tests, tests against a real dev server
#                and stripe-mock, the end-to-end story, the metrics scraped
#                by a real Prometheus (Debian's, from step 1), and the static
#                checks of docker-compose.yml, docs/configuration.md and
#                deploy/prometheus (promtool check and test rules;
#                internal/deploycheck)
#   5. fuzz      each Fuzz target found in the tree, for FUZZTIME (5s)
#   6. shellcheck of the scripts: SKIPPED where it is not installed, a
#                failure in CI
#
# RACE=1 adds the race detector to step 4 (about twice the time here).
# Every step runs; the exit status is non-zero if any failed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

fuzztime="${FUZZTIME:-5s}"
failed=()
timings=()

# skip is the exit status of a step that could not run here and says so; it
# is reported as SKIPPED, never as ok.
skip=3

# run NAME CMD...: runs one step, records its time and whether it failed.
run() {
	local name="$1"
	shift
	printf '\n\033[1m== %s\033[0m\n' "$name"
	local start=$SECONDS
	local rc=0
	"$@" || rc=$?
	if ((rc == 0)); then
		timings+=("$(printf '%-28s %4ds  ok' "$name" $((SECONDS - start)))")
	elif ((rc == skip)); then
		timings+=("$(printf '%-28s %4ds  SKIPPED' "$name" $((SECONDS - start)))")
	else
		timings+=("$(printf '%-28s %4ds  FAILED' "$name" $((SECONDS - start)))")
		failed+=("$name")
	fi
}

go_files() {
	find . \( -path ./bin -o -path ./.dev -o -path ./.git -o -path ./.bench -o -path ./.chaos -o -path ./.artifacts \) -prune \
		-o -name '*.go' -print0
}

check_gofmt() {
	local unformatted
	unformatted="$(go_files | xargs -0 gofmt -l)"
	if [[ -n "$unformatted" ]]; then
		echo "not gofmt-ed (run gofmt -w on them):"
		echo "$unformatted"
		return 1
	fi
}

go_test() {
	local args=(-count=1 -timeout=15m)
	if [[ "${RACE:-}" == 1 ]]; then
		args+=(-race)
	fi
	go test "${args[@]}" ./...
}

# fuzz_targets prints "dir name" for every func FuzzX(f *testing.F) in a test file.
fuzz_targets() {
	go_files | xargs -0 grep -H -E '^func Fuzz[A-Za-z0-9_]*\(' -- 2>/dev/null |
		grep '_test\.go:' |
		sed -E 's#^\./(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#; s#^\./[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#. \1#' |
		sort -u || true
}

# fuzz_one DIR NAME: fuzzes one target. Go 1.26's fuzz coordinator can
# fail a target with a bare "context deadline exceeded" as -fuzztime ends
# (golang/go#75804, fixed in Go 1.27): no input failed and none is written.
# Such a run is tried once more; any other failure, or one that wrote a
# failing input, fails at once.
fuzz_one() {
	local dir="$1" name="$2" out
	out="$(mktemp)"
	if go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "./$dir" 2>&1 | tee "$out"; then
		rm -f "$out"
		return 0
	fi
	if grep -q 'context deadline exceeded' "$out" && ! grep -q -e 'Failing input written' -e 'panic:' "$out"; then
		rm -f "$out"
		echo "fuzz ./$dir $name: the Go 1.26 fuzztime race (golang/go#75804), no failing input; once more"
		go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "./$dir"
		return
	fi
	rm -f "$out"
	return 1
}

fuzz_all() {
	local dir name ok=0 n=0
	while read -r dir name; do
		[[ -n "$name" ]] || continue
		n=$((n + 1))
		echo "fuzz ./$dir $name ($fuzztime)"
		if ! fuzz_one "$dir" "$name"; then
			ok=1
		fi
	done < <(fuzz_targets)
	echo "$n fuzz target(s)"
	return "$ok"
}

lint_scripts() {
	if ! command -v shellcheck >/dev/null; then
		# install-tools installs it where it can (root with apt-get), as CI is.
		if [[ "${CI:-}" == true ]]; then
			echo "shellcheck is not installed (apt-get install shellcheck): CI lints every script"
			return 1
		fi
		echo "shellcheck is not installed: skipped (apt-get install shellcheck)"
		return "$skip"
	fi
	shellcheck scripts/*.sh scripts/lib/*.sh .ci/run deploy/*.sh deploy/local/*.sh && shellcheck -s sh deploy/temporal/*.sh
}

total_start=$SECONDS
run "tools" scripts/install-tools.sh
run "prod tools" deploy/local/install.sh
run "go vet" go vet ./...
run "gofmt" check_gofmt
run "go test${RACE:+ (race)}" go_test
run "fuzz" fuzz_all
run "shellcheck" lint_scripts

printf '\n\033[1m== summary\033[0m\n'
printf '%s\n' "${timings[@]}"
printf '%-28s %4ds\n' "total" $((SECONDS - total_start))
if ((${#failed[@]} > 0)); then
	printf '\nFAILED: %s\n' "${failed[*]}"
	exit 1
fi
printf '\nall green\n'
