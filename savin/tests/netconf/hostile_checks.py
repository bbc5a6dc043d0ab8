"""Hostile and careless NETCONF clients against Savin: malformed XML, a 50 MB request, a
session killed by another, a client that vanishes mid-commit. Each gets a clear error or a
clean end; the daemon keeps serving and nothing is half-committed.
Usage: hostile_checks.py HOST PORT PASSWORD"""
import sys
import time

import paramiko
from ncclient import manager
from ncclient.operations.rpc import RPCError
from ncclient.xml_ import to_ele

from checks import check

HOST, PORT, PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3]
EOM = b"]]>]]>"
HELLO = (b'<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>'
         b"<capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>" + EOM)


def connect():
    return manager.connect(host=HOST, port=PORT, username="alice", password=PASSWORD,
                           hostkey_verify=False, device_params={"name": "junos"},
                           look_for_keys=False, allow_agent=False, timeout=30)


class Raw:
    """A NETCONF channel spoken by hand."""

    def __init__(self):
        self.t = paramiko.Transport((HOST, PORT))
        self.t.connect(username="alice", password=PASSWORD)
        self.ch = self.t.open_session()
        self.ch.invoke_subsystem("netconf")
        self.ch.settimeout(30)
        self.buf = b""
        hello = self.read()
        assert b"<hello" in hello, hello
        self.ch.sendall(HELLO)

    def read(self):
        while EOM not in self.buf:
            data = self.ch.recv(65536)
            if not data:
                raise EOFError(self.buf[:200])
            self.buf += data
        msg, self.buf = self.buf.split(EOM, 1)
        return msg

    def rpc(self, body, mid):
        self.ch.sendall(b'<rpc message-id="%s">%s</rpc>' % (mid, body) + EOM)
        return self.read()

    def close(self):
        self.t.close()


def lock_within(m, secs):
    """Whether `m` gets the candidate lock within `secs` seconds."""
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            m.lock()
            return True
        except RPCError:
            time.sleep(0.2)
    return False


def committed(m):
    return m.rpc(to_ele('<get-configuration database="committed" format="text"/>')).xpath(
        "//configuration-text")[0].text


# Malformed XML: an error, and the session goes on.
r = Raw()
r.ch.sendall(b'<rpc message-id="1"><get-software-information></rpc>' + EOM)
reply = r.read()
check(b"<rpc-error>" in reply and b"malformed" in reply, "malformed XML is answered with an error: %r" % reply[:300])
reply = r.rpc(b"<get-software-information/>", b"2")
check(b'message-id="2"' in reply and b"<host-name>r1</host-name>" in reply, "the session goes on after it")
r.ch.sendall(b"<rpc message-id=\"3\"><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]></rpc>" + EOM)
reply = r.read()
check(b"<rpc-error>" in reply and b"root:" not in reply, "a DOCTYPE (external entity) is refused")
r.close()

# 50 MB in one request: refused, the session ends, the daemon serves on.
m = connect()
before = committed(m)
r = Raw()
big = b"set system domain-name a.example\n" * (50 * 1024 * 1024 // 33)
try:
    r.ch.sendall(b'<rpc message-id="9"><load-configuration action="set" format="text"><configuration-set>'
                 + big + b"</configuration-set></load-configuration></rpc>" + EOM)
except OSError:
    pass  # the server stops reading once the limit is passed, and closes
try:
    reply = r.read()
except EOFError as e:
    reply = b"EOF: %r" % e
check(b"<rpc-error>" in reply and b"larger than" in reply, "a 50 MB request is refused: %r" % reply[:300])
r.close()
check(committed(m) == before, "nothing of it reached the configuration")
check(m.compare_configuration(rollback=0).xpath("//configuration-output")[0].text == "\n",
      "nor the candidate")

# kill-session: another session's lock goes with it.
a = connect()
a.lock()
try:
    m.lock()
    check(False, "the lock is held by the other session")
except RPCError:
    pass
m.rpc(to_ele("<kill-session><session-id>%s</session-id></kill-session>" % a.session_id))
check(lock_within(m, 10), "kill-session frees the killed session's lock")
m.unlock()
try:
    a.rpc(to_ele("<get-software-information/>"))
    check(False, "the killed session is closed")
except Exception:
    check(True, "the killed session is closed")
try:
    m.rpc(to_ele("<kill-session><session-id>%s</session-id></kill-session>" % m.session_id))
    check(False, "a session cannot kill itself")
except RPCError as e:
    check("itself" in str(e), "a session cannot kill itself")

# A client that vanishes right after sending its commit: all of it or nothing, no lock left.
r = Raw()
r.rpc(b"<lock-configuration/>", b"1")
reply = r.rpc(b'<load-configuration action="set" format="text"><configuration-set>'
              b"set system domain-name vanished.example</configuration-set></load-configuration>", b"2")
check(b"<ok/>" in reply, "the vanishing client's load")
r.ch.sendall(b'<rpc message-id="3"><commit-configuration/></rpc>' + EOM)
r.close()
check(lock_within(m, 10), "its lock is gone with it")
text = committed(m)
check(("domain-name vanished.example;" in text) or text == before,
      "its commit landed whole or not at all")
check(m.compare_configuration(rollback=0).xpath("//configuration-output")[0].text == "\n",
      "no half-made change is left in the candidate")
m.unlock()
m.close_session()
print("all hostile-client checks passed")
