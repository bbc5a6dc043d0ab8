"""Sends G.711 RTP streams at once, each with a seeded impairment, as netem would give them
(this kernel may lack netem): packets of PTIME ms from SPORT to DST:DPORT, lost with the
stream's loss model before they leave, and sent up to JITTER ms late (uniform). Models:
  clean            no loss
  random:P         each packet lost with probability P (Bernoulli)
  ge:P:R           Gilbert-Elliott (netem's gemodel with 1-h = 1, 1-k = 0): a lost packet
                   takes the link to the bad state with probability P from good, back with R
Usage: rtp_impair.py DST COUNT PTIME SEED DPORT:SPORT:MODEL:JITTER ...
Prints, per stream, the packets sent and the indices lost."""
import random
import socket
import struct
import sys
import time

dst, count, ptime, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
streams = []
for n, spec in enumerate(sys.argv[5:]):
    dport, sport, model, jitter = spec.split(":", 3)
    rng = random.Random(seed * 1000 + n)
    kind, *params = model.split("/")
    params = [float(x) for x in params]
    lost, bad = set(), False
    for i in range(count):
        if kind == "random":
            if rng.random() < params[0]:
                lost.add(i)
        elif kind == "ge":
            # The state for this packet, then the packet: lost in the bad state.
            bad = (rng.random() < params[0]) if not bad else (rng.random() >= params[1])
            if bad:
                lost.add(i)
        elif kind != "clean":
            raise SystemExit("unknown model " + model)
    late = [rng.uniform(0, float(jitter)) / 1000.0 for _ in range(count)]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sport)))
    streams.append((s, int(dport), lost, late, 0x1000 + n))

samples = int(8 * ptime)
events = sorted((i * ptime / 1000.0 + st[3][i], n, i)
                for n, st in enumerate(streams) for i in range(count) if i not in st[2])
start = time.monotonic() + 0.1
for due, n, i in events:
    while True:
        now = time.monotonic() - start
        if now >= due:
            break
        time.sleep(min(due - now, 0.002))
    s, dport, _, _, ssrc = streams[n]
    hdr = struct.pack("!BBHII", 0x80, 0, (1000 + i) & 0xFFFF, (5000 + samples * i) & 0xFFFFFFFF, ssrc)
    s.sendto(hdr + b"\xd5" * samples, (dst, dport))
for s, dport, lost, _, _ in streams:
    print("stream", dport, "sent", count - len(lost), "lost", ",".join(map(str, sorted(lost))))
