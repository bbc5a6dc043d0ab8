#!/usr/bin/env python3
"""A passive BGP speaker that records what a real peer sends, for Savin's golden tests.

scripts/record-bgp-golden.sh runs it in a network namespace facing a real daemon (BIRD, FRR,
GoBGP). It plays the router under test just enough to keep the session up: it answers the
peer's OPEN with its own (AS 65001, hold time 90; MP IPv4 and IPv6 unicast, 4-octet AS, route
refresh, graceful restart so that the peer ends its initial table with End-of-RIB), sends
KEEPALIVEs, and writes every message the peer sends, OPEN included, as one hex line each, in
arrival order.

The recording has two phases that the shell script drives with files:
- the initial table: over when End-of-RIB has come for both families and the peer has been
  silent for QUIET_AFTER seconds (or after QUIET seconds of silence); "initial-done" is
  appended to the status file;
- once the mark file exists (the script creates it just before it changes the peer's routes)
  a "# <mark file's text>" line goes into the recording, and what follows is the peer's
  reaction; over after one UPDATE and QUIET_AFTER seconds of silence: "phase2-done".
The listener leaves (Cease, Administrative Shutdown) when the stop file exists. The shell
script reads the peer's own account of its routes before creating the stop file: a session
that goes down takes the routes with it.

Standard library only: it must run wherever the daemons do.
"""

import argparse
import os
import select
import socket
import struct
import sys
import time

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE = 1, 2, 3, 4
QUIET = 15.0
QUIET_AFTER = 3.0


def message(kind, body=b""):
    return MARKER + struct.pack("!HB", 19 + len(body), kind) + body


def capability(code, value):
    return struct.pack("!BB", code, len(value)) + value


def our_open(asn, router_id, hold):
    """OPEN with the capabilities the brief asks of the router: each in its own optional
    parameter, as many speakers send them."""
    caps = [
        capability(1, struct.pack("!HBB", 1, 0, 1)),  # MP IPv4 unicast
        capability(1, struct.pack("!HBB", 2, 0, 1)),  # MP IPv6 unicast
        capability(2, b""),  # route refresh
        capability(65, struct.pack("!I", asn)),  # 4-octet AS
        # Graceful restart: restart time 120, no restart bit, both families without
        # preserved forwarding state. What makes peers send End-of-RIB (RFC 4724 §2).
        capability(64, struct.pack("!H", 120) + struct.pack("!HBB", 1, 1, 0)
                   + struct.pack("!HBB", 2, 1, 0)),
    ]
    params = b"".join(struct.pack("!BB", 2, len(c)) + c for c in caps)
    my_as = asn if asn < 65536 else 23456
    body = struct.pack("!BHH4sB", 4, my_as, hold, socket.inet_aton(router_id), len(params))
    return message(OPEN, body + params)


def end_of_rib(body):
    """The family an UPDATE's body marks the end of, or None."""
    if len(body) == 4 and body == b"\0\0\0\0":
        return "ipv4"
    if len(body) < 4:
        return None
    wlen = struct.unpack("!H", body[0:2])[0]
    if wlen != 0:
        return None
    alen = struct.unpack("!H", body[2:4])[0]
    attrs = body[4:4 + alen]
    if len(body) != 4 + alen or len(attrs) < 3:
        return None
    flags, code = attrs[0], attrs[1]
    if code != 15:
        return None
    if flags & 0x10:
        vlen = struct.unpack("!H", attrs[2:4])[0]
        value = attrs[4:4 + vlen]
        total = 4 + vlen
    else:
        vlen = attrs[2]
        value = attrs[3:3 + vlen]
        total = 3 + vlen
    if total != len(attrs) or len(value) != 3:
        return None
    afi, safi = struct.unpack("!HB", value)
    if (afi, safi) == (2, 1):
        return "ipv6"
    if (afi, safi) == (1, 1):
        return "ipv4"
    return None


class Recorder:
    def __init__(self, args):
        self.args = args
        self.out = open(args.out, "w", buffering=1)
        self.status = open(args.status, "a", buffering=1)
        self.eor = set()
        self.phase = 1
        self.last_msg = time.monotonic()
        self.last_update = None
        self.updates_after_mark = 0
        self.mark_time = None
        self.start = time.monotonic()

    def say(self, what):
        self.status.write(what + "\n")
        print(f"listener: {what}", file=sys.stderr, flush=True)

    def record(self, msg):
        self.out.write(msg.hex() + "\n")
        self.last_msg = time.monotonic()

    def check_mark(self):
        if self.phase == 2 and os.path.exists(self.args.mark):
            with open(self.args.mark) as f:
                text = " ".join(f.read().split())
            self.out.write(f"# {text}\n")
            self.phase = 3
            self.mark_time = time.monotonic()
            self.say("marked")

    def tick(self):
        now = time.monotonic()
        # Some peers (FRR) send End-of-RIB before routes whose next hop they are still
        # resolving: the table is over once End-of-RIB has come and the peer fell silent.
        if self.phase == 1 and (
            ({"ipv4", "ipv6"} <= self.eor and now - self.last_msg > QUIET_AFTER)
            or now - self.last_msg > QUIET
        ):
            self.phase = 2
            self.say("initial-done eor=" + ",".join(sorted(self.eor)))
        if self.phase == 3:
            quiet = self.last_update is not None and now - self.last_update > QUIET_AFTER
            if (self.updates_after_mark and quiet) or now - self.mark_time > 20:
                self.phase = 4
                self.say(f"phase2-done updates={self.updates_after_mark}")


def serve(args):
    rec = Recorder(args)
    lsock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    lsock.bind(("::", args.port))
    lsock.listen(1)
    rec.say("listening")
    deadline = time.monotonic() + args.timeout
    lsock.settimeout(args.timeout)
    conn, peer = lsock.accept()
    lsock.close()
    rec.say(f"connected from {peer[0]}")
    buf = b""
    hold = args.hold
    last_sent = time.monotonic()
    opened = False
    while True:
        if time.monotonic() > deadline:
            rec.say("timeout")
            return 2
        rec.check_mark()
        if os.path.exists(args.stop):
            # Cease, Administrative Shutdown (RFC 4486): the peer is told, not left waiting.
            conn.sendall(message(NOTIFICATION, bytes([6, 2])))
            conn.close()
            rec.say("stopped")
            return 0
        ready, _, _ = select.select([conn], [], [], 0.2)
        # The mark is looked at again before reading: the script creates it before it
        # changes anything, so whatever is readable now came after it.
        rec.check_mark()
        if ready:
            data = conn.recv(65536)
            if not data:
                rec.say("closed by peer")
                return 1
            buf += data
        while len(buf) >= 19:
            length = struct.unpack("!H", buf[16:18])[0]
            if length < 19 or buf[:16] != MARKER:
                rec.say("framing error")
                return 1
            if len(buf) < length:
                break
            msg, buf = buf[:length], buf[length:]
            kind, body = msg[18], msg[19:]
            rec.record(msg)
            if kind == OPEN:
                peer_hold = struct.unpack("!H", body[3:5])[0]
                hold = min(hold, peer_hold) if peer_hold else 0
                conn.sendall(our_open(args.asn, args.router_id, args.hold) + message(KEEPALIVE))
                last_sent = time.monotonic()
                opened = True
                rec.say(f"open hold={peer_hold}")
            elif kind == KEEPALIVE:
                conn.sendall(message(KEEPALIVE))
                last_sent = time.monotonic()
            elif kind == UPDATE:
                fam = end_of_rib(body)
                if fam and rec.phase == 1:
                    rec.eor.add(fam)
                    rec.say(f"eor {fam}")
                if rec.phase >= 3:
                    rec.updates_after_mark += 1
                    rec.last_update = time.monotonic()
            elif kind == NOTIFICATION:
                rec.say(f"notification {body.hex()}")
                return 1
        if opened and hold and time.monotonic() - last_sent > hold / 3:
            conn.sendall(message(KEEPALIVE))
            last_sent = time.monotonic()
        rec.tick()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="hex lines, one message each")
    ap.add_argument("--status", required=True, help="progress, one event a line")
    ap.add_argument("--mark", required=True, help="file whose existence starts phase 2")
    ap.add_argument("--stop", required=True, help="file whose existence ends the session")
    ap.add_argument("--port", type=int, default=179)
    ap.add_argument("--asn", type=int, default=65001)
    ap.add_argument("--router-id", default="10.99.0.1")
    ap.add_argument("--hold", type=int, default=90)
    ap.add_argument("--timeout", type=float, default=180.0)
    return serve(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
