"""Measuring children and printing results, for run.py.

A child's wall time is spawn → exit and its peak RSS is its own ru_maxrss
from os.wait4; a run that fails or prints less than a correct answer raises
BenchError instead of yielding a time.
"""

import os
import statistics
import subprocess
import sys
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass, field

MB = 1024 * 1024
FOOTNOTES = {
    "P1": "baseline = generated bare Typer app, same command tree and help text, empty bodies.",
    "P2": "baseline = floor.py: python + `import sqlmodel` + the same SQL via sqlite3.",
    "P5": "baseline = raw sqlite3.executemany of the same row counts: context, not judged.",
    "P7": "baseline = the floor's peak RSS: context; judged on ours alone (child's ru_maxrss).",
}
KEEP_STDOUT = 64 * 1024


class BenchError(Exception):
    """A benchmark that could not produce a trustworthy number."""


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- children


@dataclass
class Sample:
    """One child process: wall time, its own peak RSS, and what it printed."""

    seconds: float
    max_rss: int  # bytes
    returncode: int
    out_bytes: int
    out_lines: int
    stdout: bytes  # the first KEEP_STDOUT bytes
    stderr: str

    @property
    def rss_mb(self) -> float:
        return self.max_rss / MB


class _Drain(threading.Thread):
    """Reads a pipe to the end, counting bytes and lines, keeping the start."""

    def __init__(self, pipe, keep: int):
        super().__init__(daemon=True)
        self.pipe, self.keep = pipe, keep
        self.head = bytearray()
        self.bytes = self.lines = 0

    def run(self) -> None:
        while chunk := self.pipe.read(1 << 16):
            self.bytes += len(chunk)
            self.lines += chunk.count(b"\n")
            if len(self.head) < self.keep:
                self.head += chunk[: self.keep - len(self.head)]
        self.pipe.close()


def run_child(argv: list[str], env: dict[str, str], *, timeout: float = 600) -> Sample:
    """Run one command; wall time spawn→exit and the child's own ru_maxrss
    (os.wait4 on its pid, not the cumulative RUSAGE_CHILDREN)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    out, err = _Drain(proc.stdout, KEEP_STDOUT), _Drain(proc.stderr, 16 * 1024)
    out.start()
    err.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        killer.cancel()
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.join()
    err.join()
    return Sample(
        seconds=seconds,
        max_rss=usage.ru_maxrss * 1024,  # kilobytes on Linux
        returncode=proc.returncode,
        out_bytes=out.bytes,
        out_lines=out.lines,
        stdout=bytes(out.head),
        stderr=err.head.decode("utf-8", "replace"),
    )


def check(sample: Sample, what: str, *, min_lines: int = 0) -> Sample:
    """A failed or empty run must never be reported as a fast one."""
    if sample.returncode != 0:
        last = (sample.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise BenchError(f"{what}: exit {sample.returncode}: {last[:200]}")
    if sample.out_lines < min_lines:
        raise BenchError(
            f"{what}: printed {sample.out_lines} lines, expected at least {min_lines} "
            f"(stderr: {sample.stderr.strip()[:200]!r})"
        )
    return sample


def paired_runs(
    ours: list[str], base: list[str], env: dict[str, str], runs: int, min_lines: int
) -> tuple[list[Sample], list[Sample]]:
    """One warm-up each, then `runs` of each, interleaved (alternating which
    goes first) so drift in machine load hits both sides alike."""
    label_ours, label_base = " ".join(ours[-4:]), " ".join(base[-3:])
    check(run_child(ours, env), label_ours, min_lines=min_lines)
    check(run_child(base, env), label_base, min_lines=min_lines)
    got_ours, got_base = [], []
    for i in range(runs):
        order = [(ours, got_ours, label_ours), (base, got_base, label_base)]
        for argv, bucket, label in order if i % 2 == 0 else order[::-1]:
            bucket.append(check(run_child(argv, env), label, min_lines=min_lines))
    return got_ours, got_base


def median_seconds(samples: list[Sample]) -> float:
    return statistics.median(s.seconds for s in samples)


# ------------------------------------------------------------------ results


@dataclass
class Row:
    target: str  # P1, P2…
    what: str
    unit: str  # "s" or "MB"
    ours: float | None = None
    baseline: float | None = None
    limit: float | None = None  # the target value
    kind: str = "ratio"  # "ratio": ours/baseline ≤ limit; "abs": ours ≤ limit; "info"
    verdict: str = ""
    note: str = ""
    details: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours is None or not self.baseline:
            return None
        return self.ours / self.baseline

    def judge(self) -> "Row":
        if self.verdict:
            return self
        if self.kind == "info" or self.ours is None:
            self.verdict = "info"
        elif self.kind == "ratio":
            self.verdict = "PASS" if self.ratio is not None and self.ratio <= self.limit else "MISS"
        else:
            self.verdict = "PASS" if self.ours <= self.limit else "MISS"
        return self

    def target_text(self) -> str:
        if self.limit is None:
            return ""
        if self.kind == "ratio":
            return f"≤ {self.limit:g}×"
        if self.kind == "abs":
            return f"≤ {self.limit:g} {'s' if self.unit == 's' else 'MB'}"
        return ""

    def to_json(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "target_text": self.target_text()}


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def print_table(rows: list[Row]) -> None:
    header = ["", "what", "ours", "baseline", "ratio", "target", "result"]
    lines = []
    for r in rows:
        shows_note = r.ours is None and r.verdict not in ("TODO", "ERROR")
        ours = r.note if shows_note else fmt_value(r.ours, r.unit)
        ratio = f"{r.ratio:.2f}×" if r.ratio is not None else "—"
        verdict = {"TODO": r.note, "info": ""}.get(r.verdict, r.verdict)
        lines.append(
            [r.target, r.what, ours, fmt_value(r.baseline, r.unit), ratio, r.target_text(), verdict]
        )
    widths = [max(_width(line[i]) for line in [header, *lines]) for i in range(len(header))]
    right = {2, 3, 4}

    def render(cells: list[str]) -> str:
        out = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            pad = " " * (width - _width(cell))
            out.append(pad + cell if i in right else cell + pad)
        return "  ".join(out).rstrip()

    print(render(header))
    print(render(["-" * w for w in widths]))
    previous = None
    for row, line in zip(rows, lines, strict=True):
        if previous is not None and row.target != previous:
            print()
        previous = row.target
        print(render(line))
    print()
    targets = {r.target for r in rows}
    for target, text in FOOTNOTES.items():
        if target in targets:
            print(f"{target}: {text}")
    for r in rows:
        if r.verdict == "ERROR":
            print(f"ERROR {r.target} {r.what}: {r.details.get('error', r.note)}")


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
