#!/bin/bash
# Every fuzz seed and every crash input ever found (tests/fuzz/<target>/)
# runs through its target without a crash; under --enable-sanitizers this
# is the ASan/UBSan regression suite for the parsers.
. "$(dirname "$0")/lib.sh"

for t in fhir bundle config model; do
	bin="$top_builddir/tests/fuzz/regress_$t"
	[ -x "$bin" ] || fail "$bin not built"
	"$bin" "$top_srcdir/tests/fuzz/$t" >"$T/$t.out" 2>&1 ||
		fail "fuzz regression $t: $(tail -n 20 "$T/$t.out")"
	note "$t: $(cat "$T/$t.out" | tail -n 1)"
done
