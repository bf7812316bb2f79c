"""What every end-to-end script reports: one line per check, the failures kept for the exit code."""

failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)
    return cond


def summary():
    """Prints the outcome of every check so far; the script's exit code (1 if any failed)."""
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0
