"""CPU time and resident memory of local processes from /proc (Linux), for the benchmark's per-request CPU."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Stat:
    """The fields of /proc/<pid>/stat the benchmark uses; times in clock ticks."""

    pid: int
    comm: str
    ppid: int
    utime: int
    stime: int
    cutime: int  # of children that ended and were waited for (and theirs, recursively)
    cstime: int

    @property
    def own_ticks(self) -> int:
        return self.utime + self.stime

    @property
    def ticks_with_reaped_children(self) -> int:
        return self.utime + self.stime + self.cutime + self.cstime


def parse_stat(line: str) -> Stat:
    """One /proc/<pid>/stat line. The command name is in parentheses and may itself contain spaces and
    parentheses, so the fields are counted from the last ')'."""
    opening, closing = line.index("("), line.rindex(")")
    fields = line[closing + 2 :].split()
    # fields[0] is field 3 of proc(5) (state): ppid is field 4, utime..cstime fields 14–17.
    return Stat(
        pid=int(line[:opening]),
        comm=line[opening + 1 : closing],
        ppid=int(fields[1]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
    )


def stat(pid: int) -> Stat | None:
    """The process's stat, or None when it has ended (or is not visible here)."""
    try:
        return parse_stat((PROC / str(pid) / "stat").read_text())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None


def _all_stats() -> list[Stat]:
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (s := stat(int(entry.name))) is not None:
            found.append(s)
    return found


def tree(root: int) -> list[Stat]:
    """`root` and every live descendant (by parent pid, one scan of /proc); empty when root has ended."""
    stats = _all_stats()
    children: dict[int, list[Stat]] = {}
    top = None
    for s in stats:
        children.setdefault(s.ppid, []).append(s)
        if s.pid == root:
            top = s
    if top is None:
        return []
    found, pending = [top], [top.pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child.pid)
    return found


def tree_ticks(root: int) -> int:
    """CPU ticks (user + system) of `root`'s tree so far: every live process's own, plus what its ended
    children used (cutime/cstime), so a worker that exits and is reaped still counts, through its parent.
    Two readings' difference is the tree's CPU in between (a process that leaves the tree unreaped,
    e.g. re-parented to init, is lost)."""
    return sum(s.ticks_with_reaped_children for s in tree(root))


def ticks_of(pids: Iterable[int]) -> dict[int, int]:
    """Own CPU ticks (user + system) of each pid still alive."""
    return {pid: s.own_ticks for pid in pids if (s := stat(pid)) is not None}


def ticks_between(before: dict[int, int], after: dict[int, int]) -> int:
    """CPU ticks the processes of `after` used since `before` (one absent before started in between and
    counts from zero; one absent after has ended and is not counted)."""
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items())


def seconds(ticks: int) -> float:
    return ticks / CLOCK_TICKS


def resident_bytes(pid: int) -> int | None:
    """VmRSS of the process (/proc/<pid>/status), or None when it has ended."""
    try:
        text = (PROC / str(pid) / "status").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # kB
    return None  # a zombie or a kernel thread has none


def children(pid: int) -> list[int]:
    """The live direct children of `pid`."""
    return sorted(s.pid for s in _all_stats() if s.ppid == pid)
