"""NAPALM's junos driver against Savin: the configuration workflow a NAPALM user runs (merge
and replace candidates, compare, commit with revert_in and its confirmation or automatic
revert, has_pending_commit, discard, rollback). Usage: napalm_checks.py HOST PORT PASSWORD"""
import sys
import time

import napalm

from checks import check

HOST, PORT, PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3]


d = napalm.get_network_driver("junos")(HOST, "alice", PASSWORD, optional_args={"port": PORT})
d.open()
check(d.compare_config() == "", "nothing to compare at first")
d.load_merge_candidate(config="set system domain-name napalm.example")
check("+   domain-name napalm.example;" in d.compare_config(), "load_merge_candidate and compare_config")
d.commit_config(message="from napalm", revert_in=60)
check(d.has_pending_commit(), "commit_config(revert_in=60) leaves a pending commit")
d.confirm_commit()
check(not d.has_pending_commit(), "confirm_commit: nothing pending")
running = d.get_config()["running"]
check("domain-name napalm.example;" in running, "get_config: the running configuration")
d.load_replace_candidate(config=running.replace("napalm.example", "replaced.example"))
diff = d.compare_config()
check("-   domain-name napalm.example;" in diff and "+   domain-name replaced.example;" in diff,
      "load_replace_candidate: only the difference shows: %r" % diff)
d.discard_config()
check(d.compare_config() == "", "discard_config")
d.load_merge_candidate(config="set system domain-name revert.example")
d.commit_config(revert_in=60)
check(d.has_pending_commit(), "a second commit with revert_in")
deadline = time.time() + 30
while time.time() < deadline and d.has_pending_commit():
    time.sleep(0.5)
check(not d.has_pending_commit() and "revert.example" not in d.get_config()["running"],
      "not confirmed in time: reverted")
d.load_merge_candidate(config="set system domain-name before-rollback.example")
d.commit_config()
d.rollback()
check("before-rollback.example" not in d.get_config()["running"], "rollback: the commit before")
try:
    d.load_merge_candidate(config="system { host-name ; }")
    check(False, "a bad candidate raises")
except napalm.base.exceptions.MergeConfigException as e:
    check("host-name" in str(e), "a bad candidate raises MergeConfigException")
check(d.compare_config() == "", "and leaves nothing behind")
d.close()
print("all NAPALM checks passed")
