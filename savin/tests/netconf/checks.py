"""What the client scripts share: a check that stops at the first failure with its reason."""
import sys


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)

