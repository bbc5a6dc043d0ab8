"""State through NETCONF with the data plane running: NAPALM's getters and PyEZ's op tables
read Savin's interfaces (checked against the kernel's account of the netdev), routes and ARP
table as they read Junos's.
Usage: getters_checks.py HOST PORT PASSWORD PEER_IP PEER_MAC"""
import sys

import napalm
from jnpr.junos import Device
from jnpr.junos.op.arp import ArpTable
from jnpr.junos.op.ethport import EthPortTable
from jnpr.junos.op.routes import RouteTable

from checks import check

HOST, PORT, PASSWORD, PEER_IP, PEER_MAC = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]


d = napalm.get_network_driver("junos")(HOST, "alice", PASSWORD, optional_args={"port": PORT})
d.open()
facts = d.get_facts()
check(facts["hostname"] == "r1" and "ge-0/0/0" in facts["interface_list"], "get_facts: %r" % facts)
# What the kernel says of the port's netdev (this script runs in the box's namespace).
def sysfs(what):
    with open("/sys/class/net/eth1/" + what) as f:
        return f.read().strip()


ifs = d.get_interfaces()
ge = ifs.get("ge-0/0/0", {})
check(ge.get("is_up") and ge.get("is_enabled")
      and ge.get("mac_address", "").lower() == sysfs("address")
      and ge.get("description") == "to the peer"
      and ge.get("speed") == float(sysfs("speed"))
      and ge.get("mtu") == int(sysfs("mtu")) + 14
      and 0 <= ge.get("last_flapped", -1) <= facts["uptime"] + 1,
      "get_interfaces (physical; uptime %r): %r" % (facts["uptime"], ge))
unit = ifs.get("ge-0/0/0.0", {})
check(unit.get("is_up") and unit.get("description") == "peer LAN", "get_interfaces (unit): %r" % unit)
rt = d.get_route_to("198.51.100.0/24")
r = rt.get("198.51.100.0/24", [{}])[0]
check(r.get("protocol") == "Static" and r.get("next_hop") == PEER_IP and r.get("current_active")
      and isinstance(r.get("age"), int) and r.get("outgoing_interface") == "ge-0/0/0.0",
      "get_route_to: %r" % rt)
arp = [e for e in d.get_arp_table() if e["ip"] == PEER_IP]
check(len(arp) == 1 and arp[0]["mac"].lower() == PEER_MAC.lower()
      and arp[0]["interface"] == "ge-0/0/0.0" and 0 < arp[0]["age"] <= 1200,
      "get_arp_table (age: seconds until the entry is aged, 20 min at most): %r" % arp)
d.close()

dev = Device(host=HOST, user="alice", password=PASSWORD, port=PORT)
dev.open()
routes = RouteTable(dev).get()
check("198.51.100.0/24" in routes.keys() and routes["198.51.100.0/24"].nexthop == PEER_IP,
      "PyEZ RouteTable: %r" % routes.items())
arp = ArpTable(dev).get()
check(PEER_MAC.lower() in [k.lower() for k in arp.keys()]
      and arp[[k for k in arp.keys() if k.lower() == PEER_MAC.lower()][0]].ip_address == PEER_IP,
      "PyEZ ArpTable: %r" % arp.items())
# EthPortTable asks for `<media/>` and the pattern `[afgxe][et]-*`: the Ethernet ports only.
ports = EthPortTable(dev).get()
check(ports.keys() == ["ge-0/0/0"], "PyEZ EthPortTable names: %r" % ports.keys())
p = ports["ge-0/0/0"]
check(p.oper == "up" and p.admin == "up" and p.description == "to the peer"
      and p.macaddr.lower() == sysfs("address") and p.running and p.present
      and p.mtu == int(sysfs("mtu")) + 14 and int(p.rx_packets) > 0 and int(p.tx_packets) > 0,
      "PyEZ EthPortTable: %r" % p.items())
dev.close()
print("all getter checks passed")
