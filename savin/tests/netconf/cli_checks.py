"""The CLI over SSH, driven through a terminal as a person (or Ansible's network_cli) drives
it, with paramiko: the prompt, TAB and ?, the arrows and editing keys with the command
history, configuration mode with its [edit] banner, commit, and a read-only user kept out of
configuration mode.
Usage: cli_checks.py HOST PORT PASSWORD"""
import re
import sys
import time

import paramiko

from checks import check

HOST, PORT, PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3]


class Term:
    def __init__(self, user):
        self.c = paramiko.SSHClient()
        self.c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.c.connect(HOST, port=PORT, username=user, password=PASSWORD,
                       look_for_keys=False, allow_agent=False, timeout=20)
        self.ch = self.c.invoke_shell(term="vt100", width=200)
        self.ch.settimeout(20)
        self.out = ""

    def until(self, pattern):
        deadline = time.time() + 20
        while not re.search(pattern, self.out):
            if time.time() > deadline:
                raise TimeoutError("waiting for %r; got %r" % (pattern, self.out[-500:]))
            self.out += self.ch.recv(65536).decode()
        m = re.search(pattern, self.out)
        text, self.out = self.out[:m.end()], self.out[m.end():]
        return text

    def send(self, s):
        self.ch.send(s)


t = Term("alice")
check(t.until(r"alice@r1> $") is not None, "the login lands at the operational prompt")
t.send("show version\r")
out = t.until(r"alice@r1> $")
check("Hostname: r1" in out, "a command runs: %r" % out)
t.send("sh\t")
out = t.until(r"show $")
check(out.endswith("show "), "TAB completes the word")
t.send("syst\t")
t.until(r"system $")
t.send("?")
out = t.until(r"alice@r1> show system $")
check("Possible completions:" in out and "commit" in out, "? lists what may follow: %r" % out[-300:])
t.send("\x03")
t.until(r"alice@r1> $")
t.send("configure\r")
out = t.until(r"alice@r1# $")
check("[edit]" in out, "configuration mode with its banner: %r" % out)
t.send("set system domain-name cli.example\r")
t.until(r"alice@r1# $")
t.send("show | compare\r")
out = t.until(r"alice@r1# $")
check("+   domain-name cli.example;" in out, "show | compare: %r" % out)
t.send("commit\r")
out = t.until(r"alice@r1# $")
check("commit complete" in out, "commit: %r" % out)
# The arrows: up brings earlier commands back (three up: `show | compare`), left and right
# move in the line; Ctrl-A, Ctrl-K edit. The description is UTF-8 and arrives whole.
t.send("set interfaces ge-0/0/5 description \"Zürich 東京\"\r")
t.until(r"alice@r1# $")
t.send("\x1b[A\x1b[A\x1b[A\r")
out = t.until(r"alice@r1# $")
check("show | compare" in out and "+           description \"Zürich 東京\";" in out,
      "up-arrow history: %r" % out)
# Junk killed with Ctrl-U; a letter left out put back in the middle of the line.
t.send("junk\x15show intrfaces ge-0/0/5" + "\x1b[D" * 16 + "\x1b[Ce\r")
out = t.until(r"alice@r1# $")
check("description \"Zürich 東京\";" in out, "editing keys, UTF-8 kept: %r" % out)
t.send("rollback 0\r")
t.until(r"alice@r1# $")
t.send("exit\r")
t.until(r"alice@r1> $")
t.send("show system commit\r")
out = t.until(r"alice@r1> $")
check(re.search(r"by alice via cli", out) is not None, "the history records the CLI commit: %r" % out)
t.send("exit\r")
time.sleep(0.5)
check(t.ch.exit_status_ready() or t.ch.closed or t.ch.recv(100) == b"", "exit ends the session")

b = Term("bob")
b.until(r"bob@r1> $")
b.send("configure\r")
out = b.until(r"bob@r1> $")
check("permission denied" in out, "a read-only user cannot enter configuration mode: %r" % out)
b.send("show system commit\r")
out = b.until(r"bob@r1> $")
check("via cli" in out, "but may look")
print("all CLI checks passed")
