"""PyEZ (junos-eznc) against Savin, as a Junos automation script uses it: facts, cli, the
Config utility (load in set, text, XML and JSON; diff; commit check; commit with a comment;
commit confirmed and its automatic rollback; rollback N; lock), and errors it turns into
exceptions. The first failed check exits non-zero.
Usage: pyez_checks.py HOST PORT PASSWORD SERIAL (SERIAL: the box's serial number)"""
import re
import sys
import time

from jnpr.junos import Device
from jnpr.junos.exception import ConfigLoadError, LockError, RpcError
from jnpr.junos.utils.config import Config

from checks import check

HOST, PORT, PASSWORD, SERIAL = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


def committed_text(dev):
    return dev.rpc.get_configuration({"format": "text", "database": "committed"}).text


dev = Device(host=HOST, user="alice", password=PASSWORD, port=PORT)
dev.open()
f = dev.facts
check(f["hostname"] == "r1", "facts: hostname %r" % f["hostname"])
check(f["version"] == "24.1R1.1" and f["version_info"].major == (24, 1), "facts: version %r" % f["version"])
check(f["model"] == "SAVIN", "facts: model %r" % f["model"])
check(f["serialnumber"] == SERIAL and SERIAL in dev.cli("show chassis hardware", warning=False),
      "facts: serial number %r, the box's own (%r), as show chassis hardware shows it"
      % (f["serialnumber"], SERIAL))
check(f["RE0"] and f["RE0"]["mastership_state"] == "master"
      and re.fullmatch(r"(\d+ (day|hour|minute|second)s?(, )?)+", f["RE0"]["up_time"] or ""),
      "facts: RE0 %r" % f["RE0"])
check(isinstance(dev.uptime, int) and dev.uptime >= 0, "uptime (system booted, seconds): %r" % dev.uptime)
check("Hostname: r1" in dev.cli("show version", warning=False), "cli() runs a command")

cu = Config(dev)
cu.lock()
other = Device(host=HOST, user="alice", password=PASSWORD, port=PORT)
other.open()
try:
    Config(other).lock()
    check(False, "a second session cannot lock")
except LockError:
    check(True, "a second session cannot lock")
other.close()

cu.load("set system domain-name example.net", format="set")
cu.load("system { time-zone UTC; }", format="text", merge=True)
cu.load("<configuration><routing-options><static><route><name>198.51.100.0/24</name>"
        "<discard/></route></static></routing-options></configuration>", format="xml")
diff = cu.diff()
check(diff and "+   domain-name example.net;" in diff and "+   time-zone UTC;" in diff
      and "route 198.51.100.0/24 discard;" in diff, "load set, text and XML; diff: %r" % diff)
check(cu.commit_check() is True, "commit_check")
check(cu.commit(comment="pyez commit") is True, "commit with a comment")
check(cu.diff() is None, "no diff after the commit")
try:
    cu.load("system { host-name ; }", format="text")
    check(False, "a load with a syntax error raises")
except ConfigLoadError as e:
    check("host-name" in str(e), "a load with a syntax error raises ConfigLoadError: %s" % e)
check(cu.diff() is None, "a failed load leaves the candidate as it was")

# commit confirmed, not confirmed: rolled back (the daemon's minute is short).
cu.load("set system host-name r9", format="set")
check(cu.commit(confirm=1) is True, "commit confirmed")
check("host-name r9;" in committed_text(dev), "the confirmed commit is active")
deadline = time.time() + 30
while time.time() < deadline and "host-name r9;" in committed_text(dev):
    time.sleep(0.5)
check("host-name r1;" in committed_text(dev), "unconfirmed: rolled back")

# rollback 1 (the configuration before the automatic rollback, i.e. r9), then discard it.
check(cu.rollback(1) is True, "rollback(1)")
check("+   host-name r9;" in (cu.diff() or ""), "rollback(1) loads the earlier commit: %r" % cu.diff())
cu.rollback(0)
check(cu.diff() is None, "rollback(0) discards")
cu.unlock()

# mode="private": this session's own candidate; others do not see it until it is committed.
watcher = Device(host=HOST, user="alice", password=PASSWORD, port=PORT)
watcher.open()
with Config(dev, mode="private") as cp:
    cp.load("set system domain-name private.example", format="set")
    check("+   domain-name private.example;" in (cp.diff() or ""), "private: the session sees its change")
    shared = watcher.rpc.get_configuration({"format": "text"}).text
    check("private.example" not in shared, "private: the shared candidate does not")
    cp.commit(comment="private commit")
check("domain-name private.example;" in committed_text(watcher), "private: committed")
check(Config(watcher).diff() is None, "private: nothing left behind in the shared candidate")
watcher.close()

hist = dev.cli("show system commit", warning=False)
check("by alice via netconf" in hist and "pyez commit" in hist, "history: user, via netconf, comment")
dev.close()
print("all PyEZ checks passed")
