"""A standalone fuzz run of the front end: N hostile spec texts (``tests/fuzz_corpus.py``)
through what ``auctionc check`` and ``auctionc plan`` do, in a pool of worker processes,
with time and memory measured for every input.

    .venv/bin/python scripts/fuzz_frontend.py --inputs 5000 --workers 2 --seed 0

Prints a table: inputs, refused with a diagnostic, accepted (and planned), internal errors
(any exception that is not a diagnostic: what the CLI reports as E0999), inputs past the
time limit (default 10 s) and the largest time and memory taken by one input.

Memory: each worker warms up (imports, the parser, one plan of each kind of spec), then runs
under an address-space limit of its size at that point plus --memory-gb (default 1 GiB), so
an input that needs more fails with MemoryError and is counted; the table also gives the
largest growth of a worker's peak resident size (ru_maxrss) over its warmed-up size.
``--tracemalloc`` adds each input's peak of Python allocations (tracemalloc slows parsing
several times, so its time is not counted against the limit: each input then runs twice).
Failing inputs are listed and written to --save-failures DIR; exit code 1 when any input
failed a criterion.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import signal
import sys
import time
import traceback
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

GIB = 1024**3


class _Timeout(Exception):
    pass


def _on_alarm(signum, frame):  # noqa: ARG001
    raise _Timeout()


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


_BASE_RSS = 0
_TRACE = False


def _init(memory_bytes: int, trace: bool) -> None:
    global _BASE_RSS, _TRACE
    signal.signal(signal.SIGALRM, _on_alarm)
    # import, build the parser and plan one spec of each kind once, so that what is measured
    # per input is the input, not the first import of a backend
    from auctionc.frontend import load_file
    from auctionc.planner import make_plan

    for name in ("manelli_vincent", "weather", "regions_50", "lab_first_price", "xor_bundle"):
        try:
            make_plan(load_file(ROOT / "examples" / f"{name}.auction"))
        except Exception:  # noqa: BLE001 - warm-up only
            pass
    _BASE_RSS = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    _TRACE = trace
    if memory_bytes > 0 and sys.platform.startswith("linux"):
        limit = _vm_size() + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run(text: str) -> tuple[str, str]:
    from auctionc.diagnostics import render_all, to_json
    from auctionc.errors import AuctionError
    from auctionc.frontend import diagnose_text
    from auctionc.planner import make_plan

    spec, diags = diagnose_text(text, "fuzz.auction")
    if any(d.code == "E0999" for d in diags):
        return "internal", "E0999 diagnostic"
    render_all(diags, {"fuzz.auction": text})
    to_json(diags)
    if spec is None:
        return ("refused", "") if diags else ("internal", "refused without a diagnostic")
    try:
        make_plan(spec)
    except AuctionError as e:
        render_all(e.diagnostics)
    return "accepted", ""


def _guarded(text: str, limit: float) -> tuple[str, str, float]:
    t0 = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        outcome, detail = _run(text)
    except _Timeout:
        outcome, detail = "timeout", ""
    except MemoryError:
        outcome, detail = "memory", "MemoryError"
    except Exception as e:  # noqa: BLE001 - this is what the fuzz run looks for
        outcome, detail = "internal", "".join(traceback.format_exception_only(type(e), e)).strip()[-500:]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return outcome, detail, time.perf_counter() - t0


def _one(job: tuple[int, str, float]) -> dict:
    index, text, limit = job
    outcome, detail, seconds = _guarded(text, limit)
    peak = None
    if _TRACE and outcome not in ("timeout", "memory"):
        tracemalloc.start()
        _guarded(text, limit * 20)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - _BASE_RSS
    return {"index": index, "outcome": outcome, "detail": detail, "seconds": seconds, "peak": peak,
            "growth": growth, "chars": len(text)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--inputs", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=10.0, help="seconds per input before it counts as a hang")
    ap.add_argument("--memory-gb", type=float, default=1.0,
                    help="address space each worker may add to its warmed-up size")
    ap.add_argument("--tracemalloc", action="store_true", help="also measure each input's Python allocations")
    ap.add_argument("--save-failures", type=Path, default=None, help="write failing inputs here")
    a = ap.parse_args(argv)

    from fuzz_corpus import hostile

    rng = random.Random(a.seed)
    texts = [hostile(rng) for _ in range(a.inputs)]
    jobs = [(i, t, a.time_limit) for i, t in enumerate(texts)]
    t0 = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(a.workers, initializer=_init, initargs=(int(a.memory_gb * GIB), a.tracemalloc)) as pool:
        results = list(pool.imap_unordered(_one, jobs, chunksize=4))
    wall = time.perf_counter() - t0

    count = {k: sum(r["outcome"] == k for r in results) for k in ("refused", "accepted", "internal", "timeout", "memory")}
    slowest = max(results, key=lambda r: r["seconds"])
    growth = max(results, key=lambda r: r["growth"])
    traced = [r for r in results if r["peak"] is not None]
    over = [r for r in traced if r["peak"] > a.memory_gb * GIB]
    rows = [
        ("inputs", f"{len(results):,}"),
        ("refused with a diagnostic", f"{count['refused']:,}"),
        ("accepted (then planned)", f"{count['accepted']:,}"),
        ("internal errors (E0999)", f"{count['internal']:,}"),
        (f"past {a.time_limit:g} s", f"{count['timeout']:,}"),
        (f"over {a.memory_gb:g} GiB (MemoryError under the address-space limit)", f"{count['memory']:,}"),
        ("slowest input", f"{slowest['seconds']:.2f} s ({slowest['chars']:,} chars, {slowest['outcome']})"),
        ("median time per input", f"{sorted(r['seconds'] for r in results)[len(results) // 2]:.3f} s"),
        ("largest growth of a worker's ru_maxrss", f"{growth['growth'] / 2**20:.0f} MiB"),
    ]
    if traced:
        biggest = max(traced, key=lambda r: r["peak"])
        rows.append(("largest tracemalloc peak of one input", f"{biggest['peak'] / 2**20:.1f} MiB ({biggest['chars']:,} chars)"))
        rows.append((f"inputs over {a.memory_gb:g} GiB (tracemalloc)", f"{len(over):,}"))
    rows.append(("wall time", f"{wall:.0f} s with {a.workers} workers"))
    print(f"front-end fuzz run: seed {a.seed}, {a.inputs} inputs\n")
    print("| measure | value |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    bad = [r for r in results if r["outcome"] in ("internal", "timeout", "memory")] + over
    for r in sorted(bad, key=lambda r: r["index"])[:40]:
        print(f"\ninput {r['index']} ({r['outcome']}, {r['seconds']:.2f} s, {r['chars']:,} chars): {r['detail']}")
    if a.save_failures is not None and bad:
        a.save_failures.mkdir(parents=True, exist_ok=True)
        for r in bad:
            (a.save_failures / f"input_{r['index']}.auction").write_text(texts[r["index"]], encoding="utf-8",
                                                                        errors="surrogatepass")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
