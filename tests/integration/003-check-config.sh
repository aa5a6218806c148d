#!/bin/bash
# --check-config: the shipped configuration passes; a typo'd key fails with
# exit status 2 naming file and line; the documented exit codes hold.
. "$(dirname "$0")/lib.sh"

# The shipped file as it is: its model and code table are the files beside
# it, in the source tree as once installed.
"$CALCIFYD" --check-config -c "$top_srcdir/conf/calcifyd.conf" \
	>"$T/out" 2>&1 || fail "shipped conf/calcifyd.conf rejected: $(cat "$T/out")"
grep -q 'configuration OK' "$T/out" || fail "no OK message"

cat >"$T/typo.conf" <<'EOF'
[http]
listen = 127.0.0.1:8080
# a typo on line 4:
max_bdoy = 1M
EOF
rc=0
"$CALCIFYD" --check-config -c "$T/typo.conf" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "typo: expected exit 2, got $rc"
grep -q "$T/typo.conf:4: http.max_bdoy: unknown key (did you mean http.max_body?)" \
	"$T/out" || fail "typo message: $(cat "$T/out")"

rc=0
"$CALCIFYD" --check-config -c "$T/typo.conf" -o log.level=loud >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "bad -o: expected exit 2, got $rc"
grep -q -- '-o: log.level: expected debug, info' "$T/out" ||
	fail "bad -o message: $(cat "$T/out")"

rc=0
"$CALCIFYD" --no-such-flag >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "unknown flag: expected exit 2, got $rc"

"$CALCIFYD" --version | grep -Eq '^calcifyd [0-9]+\.[0-9]+\.[0-9]+$' ||
	fail "--version output"
"$CALCIFYD" --help | grep -q -- '--check-config' || fail "--help output"

# Every key in the table appears in the shipped, commented configuration.
"$CALCIFYD" --list-keys | cut -f1 | while read -r key; do
	section=${key%%.*} name=${key#*.}
	awk -v s="[$section]" -v k="$name" '
		$0 == s { in_s = 1; next }
		/^\[/ { in_s = 0 }
		in_s && ($1 == k || $1 == "#" k || $2 == k) { found = 1 }
		END { exit !found }' "$top_srcdir/conf/calcifyd.conf" ||
		fail "conf/calcifyd.conf does not document $key"
done

# ... and in calcifyd.conf(5), with its default.
"$CALCIFYD" --list-keys | while IFS=$'\t' read -r key type def help; do
	name=${key#*.}
	grep -qF ".B $name \\fR($type, default" "$top_srcdir/man/calcifyd.conf.5" ||
		fail "calcifyd.conf(5) does not document $key"
done

# A daemon that cannot start on a bad configuration exits 2.
rc=0
"$CALCIFYD" --foreground -c "$T/typo.conf" >"$T/out" 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "start with bad config: expected exit 2, got $rc"
