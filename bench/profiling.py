"""Sampling profiles of the benchmark's processes with py-spy, and what they say.

`recording(pids, directory)` runs `py-spy record` on each named process (and its
subprocesses: gunicorn's workers) while the block runs, writing collapsed stacks
(`<name>.txt`: one line per distinct stack, "frame;frame;... count"; speedscope.app and
flamegraph.pl draw them as flame graphs). Idle threads are left out, so the samples are
where the CPU went (or a thread was busy in a system call).

`python -m bench.profiling var/bench/profile/burst/api-*.txt` prints the functions most samples
went through (inclusive) and the ones most samples ended in (self), as shares.
"""

import argparse
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

# Samples per second: enough for shares to the percent over five rounds.
RATE = 100
# A frame as py-spy writes it: "function (path/to/module.py:line)".
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]+)(?::(?P<line>\d+))?\)$")


def py_spy() -> str:
    return str(Path(sys.executable).parent / "py-spy")


@contextmanager
def recording(pids: Mapping[str, int], directory: Path, suffix: str = "") -> Iterator[None]:
    """Profiles every process of `pids` (by name) while the block runs, into
    `<name><suffix>.txt`."""
    directory.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        recorders = []
        for name, pid in pids.items():
            output = directory / f"{name}{suffix}.txt"
            command = [py_spy(), "record", "--pid", str(pid), "--subprocesses"]
            command += ["--rate", str(RATE), "--format", "raw", "--output", str(output)]
            # Without it every sample stops all of a worker's threads: with sixty of them,
            # scans then outlast their unlock's expiry. Only threads holding the GIL: what
            # Python code spent the CPU on, not where threads waited for the database.
            command += ["--nonblocking", "--gil"]
            log = stack.enter_context(open(f"{output}.log", "w"))
            recorders.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        try:
            yield
        finally:
            for recorder in recorders:
                recorder.send_signal(signal.SIGINT)  # py-spy writes its file, then exits
            for recorder in recorders:
                recorder.wait(timeout=60)


def _frames(stack: str) -> list[str]:
    """The stack's frames as `module.py:function`, outermost first; a process or thread
    header that py-spy puts first is dropped."""
    frames = []
    for raw in stack.split(";"):
        match = FRAME.match(raw.strip())
        if match is None:
            continue
        frames.append(f"{_short(match['file'])}:{match['function']}")
    return frames


def _short(path: str) -> str:
    for marker in ("site-packages/", "lib/python3", "/work/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return path


def shares(collapsed: list[Path]) -> tuple[int, Counter[str], Counter[str]]:
    """Samples in all, samples through each function (each counted once per stack), and
    samples ending in each function, over all the files."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    lines = [line for path in collapsed for line in path.read_text().splitlines()]
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = _frames(stack)
        if not frames:
            continue
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    return total, inclusive, own


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling")
    parser.add_argument(
        "collapsed", type=Path, nargs="+", help="py-spy's raw output, taken together"
    )
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--match", default="", help="only functions whose name contains this")
    args = parser.parse_args()
    total, inclusive, own = shares(args.collapsed)
    print(f"{total} samples")
    for title, counts in (("through (inclusive)", inclusive), ("in (self)", own)):
        print(f"  {title}:")
        chosen = [(name, n) for name, n in counts.most_common() if args.match in name]
        for name, count in chosen[: args.top]:
            print(f"    {100 * count / total:5.1f} %  {name}")


if __name__ == "__main__":
    main()
