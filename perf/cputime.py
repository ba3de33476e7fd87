"""CPU time from /proc for the peer benchmarks: a process's own (its ended
threads included), its threads', and the whole host's busy time (softirq
work that no process's times show)."""

import os
import threading

TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(path):
    """(name, fields after the name) of a /proc stat file, or None."""
    try:
        with open(path) as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()


def process_ticks(pid):
    """utime + stime of a whole process, its ended threads included."""
    stat = stat_fields(f"/proc/{pid}/stat")
    return int(stat[1][11]) + int(stat[1][12]) if stat else 0


def task_ticks(pid):
    """{tid: (name, utime + stime)} of the threads of `pid` alive now."""
    ticks = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return ticks
    for tid in tasks:
        stat = stat_fields(f"/proc/{pid}/task/{tid}/stat")
        if stat:
            ticks[int(tid)] = (stat[0], int(stat[1][11]) + int(stat[1][12]))
    return ticks


def children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = stat_fields(f"/proc/{entry}/stat")
            if stat and int(stat[1][1]) == pid:
                found.append(int(entry))
    return found


def host_busy_ticks():
    """Busy time of every CPU of the host (all but idle and iowait), in ticks:
    the client's and the kernel's softirq work included, which no process's
    own times show."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    return sum(fields) - fields[3] - fields[4]


class CpuMeter:
    """CPU seconds of a server's processes over an interval (their ended
    threads included), and of the threads whose names start with one of
    `parts`: sampled every SAMPLE_S, since io_uring's workers come and go
    (a worker that ends between samples loses at most that much)."""

    SAMPLE_S = 0.05

    def __init__(self, pids, parts=()):
        self.pids = pids
        self.parts = parts
        self.first = {}  # tid -> ticks when first seen (0 if born during the run)
        self.last = {}
        self.stop = threading.Event()

    def _sample(self, baseline):
        for pid in self.pids:
            for tid, (name, ticks) in task_ticks(pid).items():
                if not any(name.startswith(p) for p in self.parts):
                    continue
                self.first.setdefault(tid, ticks if baseline else 0)
                self.last[tid] = ticks

    def _run(self):
        while not self.stop.wait(self.SAMPLE_S):
            self._sample(False)

    def __enter__(self):
        self.host_before = host_busy_ticks()
        self.total_before = sum(process_ticks(pid) for pid in self.pids)
        if self.parts:
            self._sample(True)
            self.thread = threading.Thread(target=self._run, daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc):
        self.total_s = (sum(process_ticks(pid) for pid in self.pids) - self.total_before) / TICKS
        self.host_s = (host_busy_ticks() - self.host_before) / TICKS
        self.part_s = 0.0
        if self.parts:
            self.stop.set()
            self.thread.join(timeout=10)
            self._sample(False)
            self.part_s = sum(self.last[t] - self.first[t] for t in self.last) / TICKS
        return False
