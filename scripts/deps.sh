#!/usr/bin/env bash
# Installs what the tests and the demo need, where it is missing: iproute2 (ip netns), ping,
# hping3, nmap, nftables, BGP peers (bird2, frr, gobgpd, exabgp), media sources (ffmpeg, SIPp),
# python3 (the lab's 802.1Q shim on kernels without 802.1Q), scapy (crafted packets), PyEZ,
# NAPALM, Ansible, ncclient and OpenSSH (the NETCONF and SSH clients), and cargo-fuzz. As
# root it installs; otherwise it says what is missing.
set -euo pipefail

pkgs=()
command -v ip >/dev/null 2>&1 || pkgs+=(iproute2)
command -v ping >/dev/null 2>&1 || pkgs+=(iputils-ping)
command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
# The lab tests' hosts and oracles: traceroute, iperf3, tshark, ethtool, curl.
command -v curl >/dev/null 2>&1 || pkgs+=(curl)
command -v traceroute >/dev/null 2>&1 || pkgs+=(traceroute)
command -v iperf3 >/dev/null 2>&1 || pkgs+=(iperf3)
command -v tshark >/dev/null 2>&1 || pkgs+=(tshark)
command -v ethtool >/dev/null 2>&1 || pkgs+=(ethtool)
# The service monitor's media sources: ffmpeg (G.711, H.264 and MPEG-TS), SIPp (sip-tester:
# SIP calls that play its G.711 capture).
command -v ffmpeg >/dev/null 2>&1 || pkgs+=(ffmpeg)
command -v sipp >/dev/null 2>&1 || pkgs+=(sip-tester)
# The remote syslog receiver of the structured-log test.
command -v rsyslogd >/dev/null 2>&1 || pkgs+=(rsyslog)
# The scraper of the metrics endpoint's test.
command -v prometheus >/dev/null 2>&1 || pkgs+=(prometheus)
# The security tests' attackers and the kernel peer of the security benchmark.
command -v hping3 >/dev/null 2>&1 || pkgs+=(hping3)
command -v nmap >/dev/null 2>&1 || pkgs+=(nmap)
command -v nft >/dev/null 2>&1 || pkgs+=(nftables)
command -v conntrack >/dev/null 2>&1 || pkgs+=(conntrack)
# BGP peers of the routing tests: BIRD2, FRR (bgpd, vtysh), GoBGP, ExaBGP.
command -v bird >/dev/null 2>&1 || pkgs+=(bird2)
[ -x /usr/lib/frr/bgpd ] || pkgs+=(frr)
command -v gobgpd >/dev/null 2>&1 || pkgs+=(gobgpd)
command -v exabgp >/dev/null 2>&1 || pkgs+=(exabgp)
# SSH and NETCONF clients of the management tests: OpenSSH's ssh and ssh-keygen, openssl
# (crypt hashes for `encrypted-password`).
command -v ssh >/dev/null 2>&1 || pkgs+=(openssh-client)
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
if [ ${#pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    [ -n "${SAVIN_APT_UPDATED:-}" ] || apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
  else
    echo "deps: missing Debian packages: ${pkgs[*]} (install them as root)" >&2
  fi
fi
# scapy crafts the malformed packets of the pcap replay tests.
if ! python3 -c 'import scapy' >/dev/null 2>&1; then
  python3 -m pip install -q scapy >/dev/null 2>&1 || echo "deps: could not install scapy (pip)" >&2
fi
# The NETCONF clients of the management tests, pinned: PyEZ (junos-eznc), ncclient over
# paramiko, and NAPALM.
if ! python3 -c 'import jnpr.junos, ncclient, napalm' >/dev/null 2>&1; then
  python3 -m pip install -q junos-eznc==2.8.2 ncclient==0.7.0 paramiko==5.1.0 napalm==5.1.0 \
    >/dev/null 2>&1 || echo "deps: could not install junos-eznc, ncclient and napalm (pip)" >&2
fi
# Ansible with its Junos collection (the `ansible` package carries junipernetworks.junos and
# ansible.netcommon), and what that collection's NETCONF plugin needs.
if ! command -v ansible-playbook >/dev/null 2>&1 || ! python3 -c 'import jxmlease, xmltodict' >/dev/null 2>&1; then
  python3 -m pip install -q ansible==10.7.0 jxmlease==1.0.3 xmltodict==1.0.4 >/dev/null 2>&1 \
    || echo "deps: could not install ansible (pip)" >&2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz >/dev/null 2>&1 || echo "deps: could not install cargo-fuzz" >&2
fi
