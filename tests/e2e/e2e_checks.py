"""What every end-to-end script reports: one line per check, the failures kept for the exit code."""

failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)
    return cond
