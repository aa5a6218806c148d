#!/bin/bash
# make install DESTDIR=... puts binaries, configuration, model, code table,
# schema, manual pages, the systemd unit and the sysusers file where Debian
# expects them; a reinstall keeps an edited configuration; the unit passes
# systemd-analyze verify and rates an exposure of 2.0 or lower.
. "$(dirname "$0")/lib.sh"
need systemd-analyze

R="$T/root"
${MAKE:-make} -s -C "$top_builddir" install DESTDIR="$R" >"$T/install.log" 2>&1 ||
	fail "make install failed: $(tail -n 20 "$T/install.log")"

find "$R" -type f | sed "s|^$R||" | sort >"$T/tree"
expect_file() {
	grep -Eq "$1" "$T/tree" || fail "installed tree lacks $1 (have: $(tr '\n' ' ' <"$T/tree"))"
}
expect_file '/sbin/calcifyd$'
expect_file '/sbin/calcifyctl$'
expect_file '/bin/calcify-replay$'
expect_file '/etc/calcifyd/calcifyd\.conf$'
expect_file '/etc/calcifyd/codes\.tsv$'
expect_file '/etc/calcifyd/model\.json$'
expect_file '/share/calcifyd/model\.schema\.json$'
expect_file '/man8/calcifyd\.8$'
expect_file '/man5/calcifyd\.conf\.5$'
expect_file '/man8/calcifyctl\.8$'
expect_file '/man1/calcify-replay\.1$'
expect_file '/systemd/system/calcifyd\.service$'
expect_file '/sysusers\.d/calcifyd\.conf$'
grep -q 'calcify-cohortgen' "$T/tree" && fail "a test tool was installed"

# An administrator's edit survives a reinstall.
conf=$(find "$R" -path '*/etc/calcifyd/calcifyd.conf')
echo '# edited by the admin' >>"$conf"
${MAKE:-make} -s -C "$top_builddir" install DESTDIR="$R" >"$T/install.log" 2>&1 ||
	fail "second make install failed"
grep -q 'edited by the admin' "$conf" || fail "reinstall overwrote the configuration"

# The unit names the installed binary and passes systemd's checks.
unit=$(find "$R" -name calcifyd.service)
sbin=$(sed -n 's|^ExecStart=\([^ ]*\) .*|\1|p' "$unit")
[ -x "$R$sbin" ] || fail "ExecStart names $sbin, not installed"
# verify resolves ExecStart on this machine: point it at the DESTDIR copy.
sed "s|$sbin|$R$sbin|g" "$unit" >"$T/calcifyd.service"
systemd-analyze verify --man=no "$T/calcifyd.service" >"$T/verify" 2>&1 ||
	fail "systemd-analyze verify: $(cat "$T/verify")"
[ ! -s "$T/verify" ] || fail "systemd-analyze verify warnings: $(cat "$T/verify")"
systemd-analyze security --offline=true "$unit" >"$T/security" 2>&1 || true
score=$(sed -n 's/.*Overall exposure level for calcifyd.service: \([0-9.]*\).*/\1/p' \
	"$T/security")
[ -n "$score" ] || fail "no exposure score: $(tail -n 5 "$T/security")"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' ||
	fail "exposure $score is above 2.0"
note "systemd exposure $score"

# Uninstall removes what install put there (except the edited config).
${MAKE:-make} -s -C "$top_builddir" uninstall DESTDIR="$R" >"$T/un.log" 2>&1 ||
	fail "make uninstall failed"
left=$(find "$R" -type f | sed "s|^$R||")
[ "$left" = "${conf#$R}" ] || fail "uninstall left: $left"
