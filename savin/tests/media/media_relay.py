"""Relays the UDP datagrams a media source (ffmpeg) sends to local ports on to DST, impaired
as netem would impair a link (this kernel may lack netem): each datagram lost by the port's
model, drawn with a fixed seed, and held up to JITTER ms (uniform; order kept, as a FIFO
link keeps it). Models:
  clean            no loss
  random/P         each datagram lost with probability P (Bernoulli)
  ge/P/R           Gilbert-Elliott (netem's gemodel with 1-h = 1, 1-k = 0): good to bad with
                   probability P, bad to good with R; lost in the bad state
Prints "ready" once listening; stops IDLE seconds after the last datagram (or after LIMIT
seconds in all) and prints, per port, the datagrams received and the indices lost.
Usage: media_relay.py DST SEED IDLE LIMIT LPORT:DPORT:SPORT:MODEL:JITTER ..."""
import heapq
import random
import select
import socket
import sys
import time

dst, seed, idle, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ports = []
for n, spec in enumerate(sys.argv[5:]):
    lport, dport, sport, model, jitter = spec.split(":", 4)
    kind, *params = model.split("/")
    if kind not in ("clean", "random", "ge"):
        raise SystemExit("unknown model " + model)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    rx.bind(("127.0.0.1", int(lport)))
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx.bind(("0.0.0.0", int(sport)))
    ports.append({
        "rx": rx, "tx": tx, "dport": int(dport), "kind": kind,
        "params": [float(x) for x in params], "jitter": float(jitter) / 1000.0,
        "rng": random.Random(seed * 1000 + n), "bad": False, "count": 0, "lost": [],
        "last_due": 0.0,
    })
print("ready", flush=True)

queue = []  # (due, sequence, port index, datagram)
seq = 0
start = last = time.monotonic()
while True:
    now = time.monotonic()
    while queue and queue[0][0] <= now:
        _, _, i, data = heapq.heappop(queue)
        ports[i]["tx"].sendto(data, (dst, ports[i]["dport"]))
    if not queue and (now - last > idle or now - start > limit):
        break
    timeout = min(0.05, max(0.0, queue[0][0] - now)) if queue else 0.05
    readable, _, _ = select.select([p["rx"] for p in ports], [], [], timeout)
    for i, p in enumerate(ports):
        if p["rx"] not in readable:
            continue
        data = p["rx"].recv(65536)
        last = time.monotonic()
        idx = p["count"]
        p["count"] += 1
        rng = p["rng"]
        if p["kind"] == "random":
            lost = rng.random() < p["params"][0]
        elif p["kind"] == "ge":
            p["bad"] = (rng.random() < p["params"][0]) if not p["bad"] else (rng.random() >= p["params"][1])
            lost = p["bad"]
        else:
            lost = False
        delay = rng.uniform(0, p["jitter"])
        if lost:
            p["lost"].append(idx)
            continue
        due = max(last + delay, p["last_due"])
        p["last_due"] = due
        heapq.heappush(queue, (due, seq, i, data))
        seq += 1
for p in ports:
    print("port", p["dport"], "received", p["count"], "lost", ",".join(map(str, p["lost"])),
          flush=True)
