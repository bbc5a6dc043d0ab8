"""Sends an MPEG transport stream file at its mux rate, seven 188-byte packets a datagram, to
each stream DPORT from SPORT over bare UDP or over RTP (RFC 2250: payload type 33, 90 kHz
timestamps), impaired as netem would (this kernel may lack netem): each datagram lost with
probability LOSS (seeded per stream), and datagrams HOLD_AT .. HOLD_AT+HOLD_N-1 held back
and sent at once with the one after them (a stall of HOLD_N datagram times).
Usage: ts_send.py FILE DST RATE_BPS SEED LOSS HOLD_AT HOLD_N DPORT:SPORT:udp|rtp ...
Prints, per stream, the datagrams sent, the indices lost, and the transport stream packets
lost whose continuity counter shows the loss (a payload, not the null PID)."""
import random
import socket
import struct
import sys
import time

path, dst, rate = sys.argv[1], sys.argv[2], float(sys.argv[3])
seed, loss, hold_at, hold_n = int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7])
data = open(path, "rb").read()
data = data[: len(data) - len(data) % (7 * 188)]
grams = [data[i:i + 7 * 188] for i in range(0, len(data), 7 * 188)]
period = 7 * 188 * 8 / rate


def countable(gram):
    n = 0
    for i in range(0, len(gram), 188):
        pid = ((gram[i + 1] & 0x1F) << 8) | gram[i + 2]
        if pid != 0x1FFF and (gram[i + 3] >> 4) & 1:
            n += 1
    return n


streams = []
for n, spec in enumerate(sys.argv[8:]):
    dport, sport, mode = spec.split(":")
    rng = random.Random(seed * 1000 + n)
    # The first datagrams (tables) and the held ones always arrive.
    lost = {i for i in range(len(grams))
            if i >= 20 and not (hold_at <= i <= hold_at + hold_n) and rng.random() < loss}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sport)))
    streams.append((s, int(dport), mode, lost, 0x2000 + n))

start = time.monotonic() + 0.1
for i, gram in enumerate(grams):
    if hold_at <= i < hold_at + hold_n:
        continue
    first = hold_at if i == hold_at + hold_n else i
    for j in range(first, i + 1):
        due = i * period
        while True:
            now = time.monotonic() - start
            if now >= due:
                break
            time.sleep(min(due - now, 0.002))
        for s, dport, mode, lost, ssrc in streams:
            if j in lost:
                continue
            payload = grams[j]
            if mode == "rtp":
                ts = int(j * period * 90000) & 0xFFFFFFFF
                payload = struct.pack("!BBHII", 0x80, 33, j & 0xFFFF, ts, ssrc) + payload
            s.sendto(payload, (dst, dport))
for s, dport, mode, lost, _ in streams:
    print("stream", dport, mode, "sent", len(grams) - len(lost), "lost",
          ",".join(map(str, sorted(lost))), "ts_lost", sum(countable(grams[i]) for i in lost))
