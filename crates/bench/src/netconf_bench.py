"""Client side of `savin bench netconf` (PyEZ and ncclient, as their users run them).
  load FILE: open, lock, load the `set` file, commit, close; prints seconds as JSON.
  concurrent N SECS: N sessions each asking get-interface-information and get-configuration
  in turn for SECS seconds while another session commits in a loop; prints replies per
  second and latency percentiles as JSON."""
import json
import sys
import threading
import time

HOST, PORT, PASSWORD, MODE = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

if MODE == "load":
    from jnpr.junos import Device
    from jnpr.junos.utils.config import Config
    t0 = time.monotonic()
    dev = Device(host=HOST, user="bench", password=PASSWORD, port=PORT)
    dev.open()
    t1 = time.monotonic()
    cu = Config(dev)
    cu.lock()
    cu.load(path=sys.argv[5], format="set")
    t2 = time.monotonic()
    cu.commit(timeout=300)
    t3 = time.monotonic()
    cu.unlock()
    dev.close()
    print(json.dumps({"open_s": t1 - t0, "load_s": t2 - t1, "commit_s": t3 - t2,
                      "load_and_commit_s": t3 - t1}))
    sys.exit(0)

from ncclient import manager
from ncclient.xml_ import to_ele

N, SECS = int(sys.argv[5]), float(sys.argv[6])


def connect():
    return manager.connect(host=HOST, port=PORT, username="bench", password=PASSWORD,
                           hostkey_verify=False, device_params={"name": "junos"},
                           look_for_keys=False, allow_agent=False, timeout=60)


sessions = [connect() for _ in range(N)]
committer = connect()
lat = []
errors = []
lock = threading.Lock()
stop = time.monotonic() + SECS
commits = [0]


def ask(m):
    mine = []
    rpcs = ["<get-interface-information/>", '<get-configuration format="text"/>']
    i = 0
    while time.monotonic() < stop:
        t = time.monotonic()
        try:
            m.rpc(to_ele(rpcs[i % 2]))
        except Exception as e:
            with lock:
                errors.append(str(e)[:200])
        mine.append(time.monotonic() - t)
        i += 1
    with lock:
        lat.extend(mine)


def commit_loop(m):
    n = 0
    while time.monotonic() < stop:
        m.load_configuration(action="set", config="set system domain-name c%d.example" % n)
        m.commit()
        n += 1
    commits[0] = n


threads = [threading.Thread(target=ask, args=(m,)) for m in sessions]
threads.append(threading.Thread(target=commit_loop, args=(committer,)))
t0 = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
wall = time.monotonic() - t0
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] * 1000 if lat else None
print(json.dumps({"sessions": N, "seconds": wall, "replies": len(lat),
                  "replies_per_s": len(lat) / wall, "p50_ms": pct(0.5), "p99_ms": pct(0.99),
                  "max_ms": lat[-1] * 1000 if lat else None, "errors": len(errors),
                  "first_error": errors[0] if errors else None, "commits_meanwhile": commits[0]}))
