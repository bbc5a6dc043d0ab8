#!/usr/bin/env bash
# Records BGP sessions from real peers for the golden tests (crates/bgp/tests/golden.rs).
#
#   sudo scripts/record-bgp-golden.sh [bird] [frr] [gobgp]      (default: all three)
#
# For each peer: two network namespaces joined by a veth pair (10.99.0.1/30 + fd99::1/64 for
# the listener, 10.99.0.2/30 + fd99::2/64 for the peer). In one, scripts/bgp_golden_listener.py
# plays the router (AS 65001, passive) and writes down every message the peer sends; in the
# other the real daemon (AS 65002) originates the routes its configuration in
# crates/bgp/tests/golden/<peer>/ describes. Once the initial table is over (End-of-RIB for
# both families) the script asks the daemon what it sent ("account" files, the daemon's own
# output, raw), withdraws one IPv4 and one IPv6 prefix, waits for the UPDATEs, asks again,
# and ends the session. The result replaces crates/bgp/tests/golden/<peer>/:
#   session.hex            the peer's messages, one a line, hex; '#' lines are comments
#   <config>               the daemon's configuration (read from there, so it is the one used)
#   *.initial.*, *.final.* the daemon's account before and after the withdrawal
#
# Nothing outside the namespaces and a temporary directory is touched; both go on exit,
# failure included, with the processes the script started.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
GOLDEN=$ROOT/crates/bgp/tests/golden
LISTENER=$ROOT/scripts/bgp_golden_listener.py

if [ "$(id -u)" != 0 ]; then
    echo "record-bgp-golden: needs root (network namespaces)" >&2
    exit 1
fi

NS_L=savg-l-$$
NS_P=savg-p-$$
TMP=$(mktemp -d /tmp/savin-golden.XXXXXX)
# FRR's daemons run as the frr user and keep their sockets in here.
chmod 755 "$TMP"
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
    ip netns del "$NS_L" 2>/dev/null || true
    ip netns del "$NS_P" 2>/dev/null || true
}
trap 'cleanup; rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

# For commands run to completion. Daemons are started with `ip netns exec` written out, so
# that `$!` is the daemon itself (ip execs it) and not a subshell that would leave it behind.
in_p() { ip netns exec "$NS_P" "$@"; }

netns_up() {
    ip netns add "$NS_L"
    ip netns add "$NS_P"
    ip link add "sg$$l" type veth peer name "sg$$p"
    ip link set "sg$$l" netns "$NS_L"
    ip link set "sg$$p" netns "$NS_P"
    ip -n "$NS_L" addr add 10.99.0.1/30 dev "sg$$l"
    ip -n "$NS_L" addr add fd99::1/64 dev "sg$$l" nodad
    ip -n "$NS_P" addr add 10.99.0.2/30 dev "sg$$p"
    ip -n "$NS_P" addr add fd99::2/64 dev "sg$$p" nodad
    local ns
    for ns in "$NS_L" "$NS_P"; do
        ip -n "$ns" link set lo up
    done
    ip -n "$NS_L" link set "sg$$l" up
    ip -n "$NS_P" link set "sg$$p" up
    # The link-local addresses go through DAD: a daemon started before it is over sees no
    # link-local address and sends IPv6 next hops without one (FRR did, once in two).
    local i
    for ((i = 0; i < 50; i++)); do
        if [ -n "$(ip -n "$NS_L" -6 addr show dev "sg$$l" scope link -tentative)" ] &&
            [ -n "$(ip -n "$NS_P" -6 addr show dev "sg$$p" scope link -tentative)" ]; then
            return 0
        fi
        sleep 0.2
    done
    echo "record-bgp-golden: no link-local address after 10 s" >&2
    return 1
}

wait_for_file() {
    local i
    for ((i = 0; i < $2 * 5; i++)); do
        [ -e "$1" ] && return 0
        sleep 0.2
    done
    echo "record-bgp-golden: timed out waiting for $1" >&2
    return 1
}

# wait_for FILE PATTERN SECONDS: until a line of FILE matches (grep -E).
wait_for() {
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        if grep -qE "$2" "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    echo "record-bgp-golden: timed out waiting for '$2' in $1" >&2
    cat "$1" >&2 || true
    return 1
}

# --- BIRD 2 ---------------------------------------------------------------------------------
# The account: `show route export listener all` (the routes after the export filter; BIRD adds
# its AS and the next hop on the way out) and `show protocols all listener` (the session's
# local AS and "BGP Next hop" per channel).

bird_version() { bird --version 2>&1 | head -1; }
bird_config() { echo bird.conf; }
bird_start() {
    ip netns exec "$NS_P" bird -f -c "$GOLDEN/bird/bird.conf" -s "$W/bird.ctl" -P "$W/bird.pid" \
        >"$W/daemon.log" 2>&1 &
    PIDS+=($!)
}
bird_account() {
    birdc -s "$W/bird.ctl" show route export listener all >"$W/out/show-route-export.$1.txt"
    birdc -s "$W/bird.ctl" show protocols all listener >"$W/out/show-protocols.$1.txt"
}
BIRD_CHANGE="birdc disable s4w; birdc disable s6w (withdraws 10.201.0.0/16 and 2001:db8:dead::/48)"
bird_change() {
    birdc -s "$W/bird.ctl" disable s4w >/dev/null
    birdc -s "$W/bird.ctl" disable s6w >/dev/null
}

# --- FRR --------------------------------------------------------------------------------------
# zebra and bgpd started directly, as the frr user, with their sockets and pid files in the
# temporary directory (no system FRR is involved): zebra tells bgpd the interface's
# addresses, which gives IPv6 routes a global and a link-local next hop. The account: the
# advertised routes (JSON), the table in detail (communities), the neighbour (its next hops
# and local AS).

FRR_VTY() { vtysh --vty_socket "$W/frr" "$@"; }
frr_version() { echo "FRR $(/usr/lib/frr/bgpd --version | head -1)"; }
frr_config() { echo frr.conf; }
frr_start() {
    mkdir -p "$W/frr"
    cp "$GOLDEN/frr/frr.conf" "$W/frr/frr.conf"
    : >"$W/frr/zebra.conf"
    chown -R frr:frr "$W/frr"
    ip netns exec "$NS_P" /usr/lib/frr/zebra -f "$W/frr/zebra.conf" -i "$W/frr/zebra.pid" \
        -z "$W/frr/zserv.api" --vty_socket "$W/frr" >"$W/zebra.log" 2>&1 &
    PIDS+=($!)
    wait_for_file "$W/frr/zserv.api" 10
    ip netns exec "$NS_P" /usr/lib/frr/bgpd -f "$W/frr/frr.conf" -i "$W/frr/bgpd.pid" \
        -z "$W/frr/zserv.api" --vty_socket "$W/frr" -A 127.0.0.1 >"$W/daemon.log" 2>&1 &
    PIDS+=($!)
}
frr_account() {
    local af
    for af in ipv4 ipv6; do
        FRR_VTY -c "show bgp $af unicast neighbors 10.99.0.1 advertised-routes json" \
            >"$W/out/advertised-routes.$af.$1.json"
        FRR_VTY -c "show bgp $af unicast json detail" >"$W/out/table.$af.$1.json"
    done
    FRR_VTY -c "show bgp neighbors 10.99.0.1 json" >"$W/out/neighbor.$1.json"
}
FRR_CHANGE="vtysh: router bgp 65002; no network 10.201.0.0/16 (ipv4), no network 2001:db8:dead::/48 (ipv6)"
frr_change() {
    FRR_VTY -c "configure terminal" -c "router bgp 65002" \
        -c "address-family ipv4 unicast" -c "no network 10.201.0.0/16" -c "exit-address-family" \
        -c "address-family ipv6 unicast" -c "no network 2001:db8:dead::/48"
}

# --- GoBGP ------------------------------------------------------------------------------------
# gobgpd with its API on the namespace's loopback. The neighbour starts administratively down:
# the routes (golden/gobgp/routes) go in first, so that they are all in the initial table.
# The account: `gobgp neighbor 10.99.0.1 adj-out -j` per family.

GOBGP() { in_p gobgp -u 127.0.0.1 -p 50051 "$@"; }
gobgp_version() { gobgpd --version | head -1; }
gobgp_config() { echo gobgpd.toml routes; }
gobgp_start() {
    ip netns exec "$NS_P" gobgpd -p -f "$GOLDEN/gobgp/gobgpd.toml" --api-hosts 127.0.0.1:50051 \
        --pprof-disable >"$W/daemon.log" 2>&1 &
    PIDS+=($!)
    local i
    for ((i = 0; i < 50; i++)); do
        GOBGP global >/dev/null 2>&1 && break
        sleep 0.2
    done
    local line
    while read -r line; do
        case $line in '#'* | '') continue ;; esac
        # shellcheck disable=SC2086 # one argument list a line, split on purpose
        GOBGP global rib add $line
    done <"$GOLDEN/gobgp/routes"
    GOBGP neighbor 10.99.0.1 enable >/dev/null
}
gobgp_account() {
    local af
    for af in ipv4 ipv6; do
        GOBGP neighbor 10.99.0.1 adj-out -a "$af" -j >"$W/out/adj-out.$af.$1.json"
    done
}
GOBGP_CHANGE="gobgp global rib del -a ipv4 10.201.0.0/16; gobgp global rib del -a ipv6 2001:db8:dead::/48"
gobgp_change() {
    GOBGP global rib del -a ipv4 10.201.0.0/16
    GOBGP global rib del -a ipv6 2001:db8:dead::/48
}

# --- recording ------------------------------------------------------------------------------

record() {
    local peer=$1
    local W=$TMP/$peer
    mkdir -p "$W/out"
    : >"$W/status"
    netns_up
    ip netns exec "$NS_L" python3 "$LISTENER" --out "$W/messages" --status "$W/status" --mark "$W/mark" \
        --stop "$W/stop" >"$W/listener.log" 2>&1 &
    PIDS+=($!)
    wait_for "$W/status" '^listening' 10
    local started
    started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    "${peer}_start"
    wait_for "$W/status" '^initial-done' 90
    "${peer}_account" initial
    local change_var=${peer^^}_CHANGE
    echo "after the initial table: ${!change_var}" >"$W/mark"
    "${peer}_change"
    wait_for "$W/status" '^phase2-done' 60
    "${peer}_account" final
    touch "$W/stop"
    wait_for "$W/status" '^stopped' 10
    cleanup

    local cfg
    cfg=$("${peer}_config")
    local c
    {
        echo "# $(${peer}_version), recorded $started by scripts/record-bgp-golden.sh."
        echo "# The peer (AS 65002, 10.99.0.2; configuration: ${cfg// /, }) faced a passive"
        echo "# listener (AS 65001, 10.99.0.1, hold time 90; MP IPv4 and IPv6 unicast, route"
        echo "# refresh, 4-octet AS, graceful restart: scripts/bgp_golden_listener.py) over a"
        echo "# veth pair. One message the peer sent a line, hex, in arrival order, its OPEN"
        echo "# first; '#' lines are comments."
        cat "$W/messages"
    } >"$W/out/session.hex"
    for c in $cfg; do
        cp "$GOLDEN/$peer/$c" "$W/out/$c"
    done
    # Only now, with everything recorded, the old recording goes.
    rm -rf "${GOLDEN:?}/$peer"
    mkdir -p "$GOLDEN/$peer"
    cp "$W/out/"* "$GOLDEN/$peer/"
    echo "record-bgp-golden: $peer: $(grep -vc '^#' "$GOLDEN/$peer/session.hex") messages"
}

peers=("$@")
[ ${#peers[@]} -gt 0 ] || peers=(bird frr gobgp)
for p in "${peers[@]}"; do
    case $p in
    bird | frr | gobgp) record "$p" ;;
    *)
        echo "record-bgp-golden: unknown peer $p (bird, frr, gobgp)" >&2
        exit 2
        ;;
    esac
done
