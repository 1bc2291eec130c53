"""A/B of digiden servers that differ in one thing (issue 12, goal 1: requests/s at 32
connections ≥ 90 % of those at 8): the request thread limit (web/threads.py), and optionally
another checkout of the code. A diagnostic, not a step of `make bench`.

    .venv/bin/python bench/threads_ab.py                       # 40 (anyio's default) against 8
    .venv/bin/python bench/threads_ab.py 40 8 4                # thread limits to compare
    .venv/bin/python bench/threads_ab.py old=40@/tmp/old/src new=0   # label=threads[@src dir]

A limit of 0 means "as `digiden serve` sets it" (DIGIDEN_THREADS, else 4 per core, at least 8); a checkout
without web/threads.py runs with anyio's 40. Every server runs at once on one copy of the bench
database (bench/http_load.py's pages); each page and connection count is measured on every
server back to back, in an order that rotates, `BENCH_AB_ROUNDS` times (default 2), so that the
machine's changing load falls on all alike (`BENCH_AB_PAGES=localgov,kpis`: only those
pages). Prints requests/s per server, 32 ÷ 8, the
server's CPU time per request (less sensitive to the machine's other load than requests/s)
and the load average.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

SECONDS = int(os.environ.get("BENCH_AB_SECONDS", "10"))
ROUNDS = int(os.environ.get("BENCH_AB_ROUNDS", "2"))
PAGES = [p for p in os.environ.get("BENCH_AB_PAGES", "").split(",") if p]   # keys; empty: all four


def serve(port: int, threads: int) -> None:
    """One server as `digiden serve` runs it, with the given thread limit."""
    import uvicorn

    from digiden.web.app import create_app
    app = create_app()
    try:
        from digiden.web.threads import limit_threads
    except ImportError:    # an older checkout: anyio's pool as it is (40)
        if threads not in (0, 40):
            raise
    else:
        limit_threads(app, threads or None)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", loop="auto", http="auto", ws="none")


def main(args: list[str]) -> None:
    import http_load as h
    configs: list[tuple[str, int, str]] = []
    for a in args or ["40", "8"]:
        label, _, rest = a.rpartition("=")
        threads, _, src = rest.partition("@")
        configs.append((label or f"t{threads}", int(threads), src or str(ROOT / "src")))
    h.ensure_data()
    db = h.copy_db("threads_ab")
    eps = [ep for ep in h.endpoints(h.lookup_ids(db)) if ep["key"] in PAGES or not PAGES]
    servers = []
    for label, threads, src in configs:
        env = os.environ | {"DIGIDEN_DATABASE_URL": f"sqlite:///{db}", "PYTHONPATH": src}
        s = h.Server(f"ab_{label}", [sys.executable, str(Path(__file__).resolve()), "--serve", "{port}",
                                     str(threads)], env)
        servers.append((label, s))
    load0 = h._loadavg()
    results: dict[tuple[str, str, int], list[float]] = {}
    cpu_ms: dict[tuple[str, str, int], list[float]] = {}
    try:
        for _, s in servers:
            s.start()
            for ep in eps:
                h._get(s.base + ep["digiden"], timeout=120)
        for r in range(ROUNDS):
            for ep in eps:
                for n in h.CONNECTIONS:
                    order = servers[r % len(servers):] + servers[:r % len(servers)]
                    for label, s in order:
                        m = h.measure(s, ep["digiden"], n, warm_up=n == h.CONNECTIONS[0], seconds=SECONDS)
                        results.setdefault((label, ep["key"], n), []).append(m["rps"])
                        if m.get("server_cpu_share") is not None and m["rps"]:
                            cpu_ms.setdefault((label, ep["key"], n), []).append(
                                1000 * m["server_cpu_share"] / m["rps"])
                        print(f"… {label} {ep['key']} c={n}: {m['rps']:.1f} req/s "
                              f"(p99 {m.get('p99_ms')} ms, errors {m['non_2xx']}+{m['socket_errors']})",
                              file=sys.stderr, flush=True)
    finally:
        for _, s in servers:
            s.stop()
    load1 = h._loadavg()
    print(f"load average {load0[0]:.2f} before, {load1[0]:.2f} after; {ROUNDS} rounds × {SECONDS} s; "
          "median requests/s")
    print("| page | " + " | ".join(f"{lb} c8 | {lb} c32 | {lb} 32÷8" for lb, _, _ in configs) + " |")
    print("| --- " * (1 + 3 * len(configs)) + "|")
    for ep in eps:
        cells = []
        for label, _, _ in configs:
            c8 = statistics.median(results[(label, ep["key"], 8)])
            c32 = statistics.median(results[(label, ep["key"], 32)])
            cells += [f"{c8:.1f}", f"{c32:.1f}", f"{c32 / c8:.2f}" if c8 else "—"]
        print(f"| {ep['key']} | " + " | ".join(cells) + " |")
    print()
    print("server CPU ms per request (median), 8 / 32 connections")
    for ep in eps:
        print(f"- {ep['key']}: " + "; ".join(
            f"{label} " + " / ".join(f"{statistics.median(cpu_ms[(label, ep['key'], n)]):.1f}"
                                     if cpu_ms.get((label, ep["key"], n)) else "—" for n in h.CONNECTIONS)
            for label, _, _ in configs))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main(sys.argv[1:])
