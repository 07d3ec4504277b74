"""CPU time spent by each process of a benchmark, read from /proc (Linux).

On a machine shared with other work, wall-clock latencies say as much about the neighbours
as about the platform; the CPU seconds each of our processes burnt per unlock do not. A
`CpuMeter` samples user + system time of named process trees (a process and every
descendant alive at the moment: gunicorn's master and its workers, the PostgreSQL server and
its backends) before and after a phase.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None  # gone since it was listed
    return raw[raw.rindex(")") + 2 :].split()


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _tree(root: int, children: Mapping[int, list[int]]) -> Iterator[int]:
    yield root
    for child in children.get(root, ()):
        yield from _tree(child, children)


def _cpu_seconds(pid: int) -> float:
    """User + system time of one process (its threads included); 0 once it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # stat(5): utime and stime are fields 14 and 15, i.e. 11 and 12 after the name.
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


@dataclass
class CpuMeter:
    """Named process trees, e.g. {"api": gunicorn's master pid, "lockctl": its pid}."""

    roots: dict[str, list[int]] = field(default_factory=dict)
    alone: set[int] = field(default_factory=set)  # counted without their descendants

    def watch(self, name: str, pid: int, *, with_descendants: bool = True) -> None:
        self.roots.setdefault(name, []).append(pid)
        if not with_descendants:
            self.alone.add(pid)

    def sample(self) -> dict[str, dict[int, float]]:
        """CPU seconds so far of every process of each tree, by pid."""
        children = _children_by_parent()
        return {
            name: {
                pid: _cpu_seconds(pid) for root in roots for pid in self._members(root, children)
            }
            for name, roots in self.roots.items()
        }

    def _members(self, root: int, children: Mapping[int, list[int]]) -> Iterator[int]:
        return iter((root,)) if root in self.alone else _tree(root, children)

    @contextmanager
    def measuring(self) -> Iterator[dict[str, float]]:
        """Fills the yielded dict, on leaving, with the CPU seconds each tree spent within.
        A process that ended meanwhile counts for nothing; one that started, in full."""
        spent: dict[str, float] = {}
        before = self.sample()
        yield spent
        after = self.sample()
        for name, processes in after.items():
            earlier = before.get(name, {})
            spent[name] = sum(
                max(0.0, seconds - earlier.get(pid, 0.0)) for pid, seconds in processes.items()
            )


def postgres_server_pid(data_directory: str) -> int:
    """The postmaster's pid, from the first line of its postmaster.pid."""
    return int(Path(data_directory, "postmaster.pid").read_text().split()[0])


def pid_listening_on(port: int) -> int | None:
    """The pid of the process holding a TCP socket that listens on `port` (IPv4, any
    address), found through /proc/net/tcp and the processes' open descriptors."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        columns = line.split()
        local, state, inode = columns[1], columns[3], columns[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A: LISTEN
            inodes.add(f"socket:[{inode}]")
    if not inodes:
        return None
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for descriptor in (entry / "fd").iterdir():
                if os.readlink(descriptor) in inodes:
                    return int(entry.name)
        except OSError:
            continue
    return None
