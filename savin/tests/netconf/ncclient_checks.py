"""ncclient (over paramiko) against Savin's NETCONF server, as a Junos automation script
would use it. Each check asserts what a client relies on; the first failure exits non-zero
with its reason. Usage: ncclient_checks.py HOST PORT PASSWORD"""
import json
import sys
import time

from ncclient import manager
from ncclient.operations.rpc import RPCError
from ncclient.transport.errors import AuthenticationError
from ncclient.xml_ import to_ele

from checks import check

HOST, PORT, PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def connect(user, password=PASSWORD):
    return manager.connect(host=HOST, port=PORT, username=user, password=password,
                           hostkey_verify=False, device_params={"name": "junos"},
                           look_for_keys=False, allow_agent=False, timeout=20)


def refused(user, password):
    try:
        connect(user, password).close_session()
    except AuthenticationError:
        return True
    return False


m = connect("alice")
caps = list(m.server_capabilities)
check("urn:ietf:params:netconf:capability:candidate:1.0" in caps, "hello offers the candidate")
check("urn:ietf:params:netconf:capability:confirmed-commit:1.0" in caps, "hello offers confirmed-commit")
check(any("junos" in c for c in caps), "hello names junos (Ansible detects the OS by it)")
check("urn:ietf:params:netconf:base:1.1" not in caps, "base:1.1 is not offered (end-of-message framing, as Junos)")

r = m.rpc(to_ele("<get-software-information/>"))
check(r.xpath("//host-name")[0].text == "r1", "get-software-information: host-name")
check(r.xpath("//junos-version")[0].text == "24.1R1.1", "get-software-information: a Junos-form version")

text = m.get_configuration(format="text").xpath("//configuration-text")[0].text
check("host-name r1;" in text, "get-configuration text")
sets = m.get_configuration(format="set").xpath("//configuration-set")[0].text
check("set system host-name r1" in sets, "get-configuration set")
xml = m.get_configuration(format="xml")
check(xml.xpath("//configuration/system/host-name")[0].text == "r1", "get-configuration xml")
j = m.rpc(to_ele('<get-configuration format="json"/>'))
check(json.loads(j.xpath("/rpc-reply")[0].text)["configuration"]["system"]["host-name"] == "r1",
      "get-configuration json")
out = m.compare_configuration(rollback=0).xpath("//configuration-output")[0].text
check(out == "\n", "compare with nothing changed is exactly a newline")
sub = m.get_configuration(format="xml", filter=to_ele("<configuration><system><host-name/></system></configuration>"))
check(sub.xpath("//configuration/system/host-name")[0].text == "r1"
      and not sub.xpath("//configuration/system/services"), "get-configuration with a subtree filter")
# The same filter with the other formats (PyEZ's get_config(filter_xml=..., options={"format": ...})).
only = "<configuration><system><services/></system></configuration>"
t = m.get_configuration(format="text", filter=to_ele(only)).xpath("//configuration-text")[0].text
check("netconf" in t and "ssh" in t and "host-name" not in t and "login" not in t,
      "get-configuration text with a subtree filter: %r" % t)
t = m.get_configuration(format="set", filter=to_ele(only)).xpath("//configuration-set")[0].text
check(t.strip().splitlines() and all(l.startswith("set system services ") for l in t.strip().splitlines()),
      "get-configuration set with a subtree filter: %r" % t)
j = m.rpc(to_ele('<get-configuration format="json">' + only + "</get-configuration>"))
j = json.loads(j.xpath("/rpc-reply")[0].text)["configuration"]
check(list(j) == ["system"] and list(j["system"]) == ["services"],
      "get-configuration json with a subtree filter: %r" % j)

# Two sessions, one lock.
other = connect("alice")
m.lock()
try:
    other.lock()
    check(False, "a second session is refused the lock")
except RPCError as e:
    check("locked" in str(e) or "lock" in e.tag, "a second session is refused the lock: %s" % e)
try:
    other.load_configuration(action="set", config="set system location building x")
    check(False, "a second session cannot load while the lock is held")
except RPCError as e:
    check("locked" in str(e), "a second session cannot load while the lock is held")

r = m.load_configuration(action="set", config="set system domain-name example.net")
check(r.xpath("//load-configuration-results/ok"), "load-configuration set")
diff = m.compare_configuration(rollback=0).xpath("//configuration-output")[0].text
check("+   domain-name example.net;" in diff, "compare shows the loaded change")
try:
    m.load_configuration(format="text", config="system { host-name ; }")
    check(False, "a text load with an error is refused")
except RPCError as e:
    check("netconf:1:" in str(e), "a load error names its place: %s" % str(e).strip())
# XML and JSON loads; a deletion in XML; then discard them.
m.load_configuration(action="merge", format="xml", config=to_ele(
    "<configuration><system><time-zone>Europe/Paris</time-zone>"
    "<domain-name delete=\"delete\"/></system></configuration>"))
m.load_configuration(action="merge", format="json",
                     config='{"configuration": {"routing-options": {"static": {"route": [{"name": "198.51.100.0/24", "discard": [null]}]}}}}')
diff = m.compare_configuration(rollback=0).xpath("//configuration-output")[0].text
check("+   time-zone Europe/Paris;" in diff and "route 198.51.100.0/24 discard;" in diff and "domain-name" not in diff,
      "XML and JSON loads, and a delete in XML, show in compare: %r" % diff)
m.discard_changes()
m.load_configuration(action="set", config="set system domain-name example.net")
r = m.commit(comment="from ncclient")
check(r.xpath("//commit-results/routing-engine/commit-success"), "commit-configuration")
m.unlock()
other.lock()
other.unlock()
check(True, "the lock is free again after unlock")
other.close_session()

# Errors that leave the session usable.
try:
    m.rpc(to_ele("<get-frobnication/>"))
    check(False, "an unknown RPC is refused")
except RPCError as e:
    check("<bad-element>get-frobnication</bad-element>" in (e.info or ""),
          "an unknown RPC is refused naming the bad element")
out = m.command("show system commit", format="text").xpath("//output")[0].text
check("by alice via netconf" in out and "from ncclient" in out, "the commit history records the user, via netconf, the log")

# commit confirmed: rolled back when not confirmed in time (the daemon's minute is short).
m.lock()
m.load_configuration(action="set", config="set system host-name r9")
m.commit(confirmed=True, timeout="60")
check(m.get_configuration(format="text").xpath("//configuration-text")[0].text.count("host-name r9;") == 1,
      "commit confirmed applies the change")
m.unlock()
deadline = time.time() + 30
back = False
while time.time() < deadline and not back:
    time.sleep(0.5)
    t = m.rpc(to_ele('<get-configuration database="committed" format="text"/>')).xpath("//configuration-text")[0].text
    back = "host-name r1;" in t
check(back, "an unconfirmed commit is rolled back")

# A read-only user looks but does not touch.
bob = connect("bob")
check("host-name r1;" in bob.get_configuration(format="text").xpath("//configuration-text")[0].text,
      "a read-only user reads the configuration")
try:
    bob.load_configuration(action="set", config="set system domain-name evil.example")
    check(False, "a read-only user cannot load")
except RPCError as e:
    check("permission denied" in str(e), "a read-only user cannot load: permission denied")
bob.close_session()

check(refused("alice", "wrong"), "a wrong password is refused")
check(refused("alice", ""), "an empty password is refused")
check(refused("mallory", PASSWORD), "an unknown user is refused")

# `netconf rfc-compliant`: base:1.1 offered, and ncclient then frames in chunks both ways.
m.lock()
m.load_configuration(action="set", config="set system services netconf rfc-compliant")
m.commit()
m.unlock()
c = connect("alice")
check("urn:ietf:params:netconf:base:1.1" in list(c.server_capabilities), "rfc-compliant offers base:1.1")
r = c.rpc(to_ele("<get-software-information/>"))
check(r.xpath("//host-name")[0].text == "r1", "an RPC in chunked framing")
big = c.get_configuration(format="text").xpath("//configuration-text")[0].text
check("rfc-compliant;" in big, "and a longer reply")
c.close_session()

m.close_session()
print("all ncclient checks passed")
