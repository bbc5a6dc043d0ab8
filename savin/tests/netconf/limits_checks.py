"""The NETCONF listener's connection-limit (2) and rate-limit (4 a minute): a connection over
either is closed before the SSH banner; places come back when connections end; a commit that
raises the limits lets the next one in.
Usage: limits_checks.py HOST PORT PASSWORD PHASE (PHASE: limited, raised)"""
import socket
import sys
import time

from checks import check

HOST, PORT, PHASE = sys.argv[1], int(sys.argv[2]), sys.argv[4]


def connect():
    """A TCP connection, and whether the server spoke SSH on it."""
    s = socket.create_connection((HOST, PORT), timeout=5)
    try:
        banner = s.recv(64)
    except OSError:
        banner = b""
    return s, banner.startswith(b"SSH-2.0")


if PHASE == "limited":
    a, ok_a = connect()
    b, ok_b = connect()
    c, ok_c = connect()
    check(ok_a and ok_b and not ok_c,
          "connection-limit 2: the third is closed while two are open: %r" % [ok_a, ok_b, ok_c])
    for s in (a, b, c):
        s.close()
    time.sleep(1)
    # Two places free again; the minute has room for two more connections (a and b counted,
    # the refused one not).
    d, ok_d = connect()
    d.close()
    time.sleep(0.5)
    e, ok_e = connect()
    e.close()
    time.sleep(1)
    f, ok_f = connect()
    f.close()
    check(ok_d and ok_e and not ok_f,
          "rate-limit 4 a minute: the fifth in the minute is closed though no other is open: %r"
          % [ok_d, ok_e, ok_f])
elif PHASE == "raised":
    g, ok_g = connect()
    g.close()
    check(ok_g, "a commit raised the rate-limit: the listener lets the next connection in")
print("all limit checks passed")
