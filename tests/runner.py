#!/usr/bin/env python3
"""Runs the tests that tests/run.sh lists, several at a time.

Usage: runner.py JOBFILE LOGDIR SLOTS

JOBFILE has one test per line, its fields separated by tabs: the name, the
time limit in seconds, "alone" or "-", then the command and its arguments.
Each test runs under `timeout -k 5 LIMIT`, with its output in
LOGDIR/<name>.log. Most tests wait on their clusters far more than they
compute (a cluster test uses a fifth of a core), so SLOTS of them run at
once. A test marked "alone" runs with no other test beside it.

Each running test gets KEFU_PORT_SLOT (0..SLOTS-1) and KEFU_PORT_SLOTS in
its environment: tests/cluster/ports.inc then picks its servers' ports in
a range of that slot's own, so two tests never race for one port block.

The longest tests start first, by the times of the last run (LOGDIR/times);
without them, in the file's order. Exit status 77 is a test that could not
run here: SKIP, with its last line as the reason. Prints a line per test
as it ends and "N passed, N failed, N skipped"; exits 1 when any failed.
"""
import os
import re
import signal
import subprocess
import sys
import time

UNKNOWN_SECS = 30  # a test without a time from the last run
REASON = re.compile(r"^FAIL: |Assertion|AssertionError|^SUMMARY: |runtime error:")


def log_name(logdir, name):
    return os.path.join(logdir, name.replace("/", "_").replace(" ", "_") + ".log")


def read_jobs(path):
    jobs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            fields = line.split("\t")
            if len(fields) < 4 or fields[2] not in ("alone", "-"):
                sys.exit("runner: a malformed job line: %r" % line)
            jobs.append({"name": fields[0], "limit": int(fields[1]),
                         "alone": fields[2] == "alone", "argv": fields[3:]})
    return jobs


def read_times(path):
    times = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[1].isdigit():
                    times[parts[0]] = int(parts[1])
    except OSError:
        pass
    return times


def tail(path, n):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


class Runner:
    def __init__(self, jobs, logdir, slots):
        self.logdir = logdir
        self.slots = slots
        self.free = list(range(slots))
        self.running = {}  # pid -> (job, slot, start, Popen)
        self.times_path = os.path.join(logdir, "times")
        last = read_times(self.times_path)
        if last:
            # Longest first, so that the last to end are short ones; a
            # stable sort keeps the file's order among equals.
            jobs = sorted(jobs, key=lambda j: -last.get(j["name"], UNKNOWN_SECS))
        self.queue = jobs
        self.times = dict(last)
        self.passed, self.failed, self.skipped = 0, [], []

    def start(self, job):
        slot = self.free.pop(0)
        env = dict(os.environ, KEFU_PORT_SLOT=str(slot), KEFU_PORT_SLOTS=str(self.slots))
        log = open(log_name(self.logdir, job["name"]), "wb")
        argv = ["timeout", "-k", "5", str(job["limit"])] + job["argv"]
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.running[p.pid] = (job, slot, time.monotonic(), p)

    def finish(self, pid, status):
        job, slot, start, _ = self.running.pop(pid)
        self.free.append(slot)
        self.free.sort()
        secs = int(time.monotonic() - start + 0.5)
        name, log = job["name"], log_name(self.logdir, job["name"])
        rc = os.waitstatus_to_exitcode(status)
        if rc == 0:
            self.passed += 1
            self.times[name] = secs
            print("PASS %s (%ds)" % (name, secs), flush=True)
        elif rc == 77:
            self.skipped.append(name)
            last = tail(log, 1)
            print("SKIP %s: %s" % (name, last[0] if last else ""), flush=True)
        else:
            self.failed.append(name)
            self.times[name] = secs
            out = ["FAIL %s (log: %s)" % (name, log)]
            # The reason first (a shell test's fail line, an assertion, a
            # sanitizer's summary): the tail is mostly the nodes' logs.
            reasons = [l for l in tail(log, 100000) if REASON.search(l)][:5]
            out += ["  > " + l for l in reasons]
            out += ["    " + l for l in tail(log, 30)]
            print("\n".join(out), flush=True)

    def can_start(self, job):
        if not self.free:
            return False
        if job["alone"]:
            return not self.running
        return not any(j["alone"] for j, _, _, _ in self.running.values())

    def run(self):
        while self.queue or self.running:
            while self.queue and self.can_start(self.queue[0]):
                self.start(self.queue.pop(0))
            pid, status = os.wait()
            if pid in self.running:
                self.finish(pid, status)
        with open(self.times_path, "w", encoding="utf-8") as f:
            for name in sorted(self.times):
                f.write("%s %d\n" % (name, self.times[name]))

    def stop(self):
        for _, _, _, p in self.running.values():
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    jobs = read_jobs(sys.argv[1])
    logdir, slots = sys.argv[2], int(sys.argv[3])
    if slots < 1:
        sys.exit("runner: SLOTS must be 1 or more")
    os.makedirs(logdir, exist_ok=True)
    r = Runner(jobs, logdir, slots)
    began = time.monotonic()
    try:
        r.run()
    except KeyboardInterrupt:
        r.stop()
        raise
    print()
    if r.failed:
        print("failed: " + " ".join(r.failed))
    if r.skipped:
        print("skipped: " + " ".join(r.skipped))
    print("%d passed, %d failed, %d skipped in %ds (%d at a time)"
          % (r.passed, len(r.failed), len(r.skipped), int(time.monotonic() - began), slots))
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
