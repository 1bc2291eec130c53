"""Cold start of `digiden serve`: process start to the first 200 of `/`, and RSS after warm-up.

    .venv/bin/python bench/coldstart.py [--runs 5] [--workers N] [--src DIR]

Makes one database the way `make db` does (`digiden db upgrade`, `digiden db init`: the
reference data, no observations) in a temporary directory, then for each run starts
`python -m digiden serve` on a free loopback port against a fresh copy of it, polls `/` every
20 ms until it answers 200, warms up (a few requests to a handful of pages), reads VmRSS of the
server process and its children from /proc, and stops it. Prints every run and the median.
Also prints `python -X importtime -c "import digiden.web.app"`'s cumulative time for the app
module (one run), and the CPU seconds (user + system, the process and its children) the server
had used when it first answered: wall time on a busy 2-core machine grows with the load of
others, CPU time much less. `--src` runs another checkout's `src` (e.g. `git archive` of an
older commit) for a before/after comparison on the same machine.

Bytecode: an installed digiden has its modules compiled (pip writes the .pyc files), so the runs
use a bytecode cache (PYTHONPYCACHEPREFIX in the temporary directory, filled by one untimed
priming run; the source tree is left alone) even where PYTHONDONTWRITEBYTECODE is set, as it is
in some sandboxes. `--no-bytecode` measures a start that compiles every module from source.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from http_load import process_tree  # bench/ is this script's directory

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
WARM_UP = ("/", "/kpis", "/api/v1/kpis", "/local-governments/072028", "/local-governments?q=%E4%BC%9A%E6%B4%A5",
           "/map", "/login", "/static/css/app.css")


PYCACHE: Path | None = None     # set by main(): where the runs keep their bytecode


def env_for(data_dir: Path) -> dict[str, str]:
    src = str(SRC)
    pp = os.environ.get("PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k != "DIGIDEN_DATABASE_URL"}
    if PYCACHE is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env | {"DIGIDEN_DATA_DIR": str(data_dir), "PYTHONPATH": f"{src}:{pp}" if pp else src}


def make_db(data_dir: Path) -> Path:
    for args in (["db", "upgrade"], ["db", "init"]):
        subprocess.run([sys.executable, "-m", "digiden", *args], env=env_for(data_dir), check=True,
                       stdout=subprocess.DEVNULL)
    return data_dir / "digiden.sqlite3"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            r.read()
            return int(r.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return 0


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """VmRSS (now) or VmHWM (the peak) of the process and its children, summed."""
    total = 0
    for p in process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(field + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in process_tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def one_run(db: Path, workdir: Path, workers: int | None) -> tuple[float, float, float, float, str]:
    """(seconds to the first 200 of /, CPU seconds by then, RSS and peak RSS MiB after warm-up,
    the log)."""
    data_dir = Path(tempfile.mkdtemp(dir=workdir))
    shutil.copy(db, data_dir / "digiden.sqlite3")
    port = free_port()
    argv = [sys.executable, "-m", "digiden", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        argv += ["--workers", str(workers)]
    log = data_dir / "serve.log"
    with log.open("w") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, env=env_for(data_dir), stdout=fh, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"serve exited:\n{log.read_text()}")
                if get(f"http://127.0.0.1:{port}/") == 200:
                    cold = time.perf_counter() - t0
                    cpu = cpu_seconds(proc.pid)
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no 200 on / within 60 s:\n{log.read_text()}")
                time.sleep(0.02)
            for _ in range(3 * (workers or 1)):
                for path in WARM_UP:
                    get(f"http://127.0.0.1:{port}{path}")
            rss, peak = rss_mib(proc.pid), rss_mib(proc.pid, "VmHWM")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return cold, cpu, rss, peak, log.read_text()


def import_time() -> float | None:
    r = subprocess.run([sys.executable, "-X", "importtime", "-c", "import digiden.web.app"],
                       capture_output=True, text=True, env=env_for(ROOT / "var"))
    m = re.search(r"\|\s*(\d+) \| digiden\.web\.app\s*$", r.stderr, re.M)
    return int(m.group(1)) / 1e6 if m else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--src", type=Path, default=None, help="the src directory to run (default: this checkout's)")
    ap.add_argument("--no-bytecode", action="store_true", help="compile every module from source at each start")
    a = ap.parse_args()
    global SRC, PYCACHE
    if a.src is not None:
        SRC = a.src.resolve()
    with tempfile.TemporaryDirectory(prefix="digiden-coldstart-") as tmp:
        work = Path(tmp)
        if not a.no_bytecode:
            PYCACHE = work / "pycache"
        db = make_db(work / "base")
        if not a.no_bytecode:
            print(f"priming run (fills the bytecode cache): {one_run(db, work, a.workers)[0]:.2f} s")
        print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
        it = import_time()
        print(f"import digiden.web.app: {it:.2f} s" if it is not None else "import time: not found")
        colds, cpus, rsss, peaks = [], [], [], []
        last_log = ""
        for i in range(a.runs):
            cold, cpu, rss, peak, last_log = one_run(db, work, a.workers)
            colds.append(cold)
            cpus.append(cpu)
            rsss.append(rss)
            peaks.append(peak)
            print(f"run {i + 1}: first 200 of / after {cold:.2f} s ({cpu:.2f} CPU s); "
                  f"RSS after warm-up {rss:.0f} MiB (peak {peak:.0f} MiB)")
        print(f"median of {a.runs}: cold start {statistics.median(colds):.2f} s "
              f"({statistics.median(cpus):.2f} CPU s); RSS after warm-up {statistics.median(rsss):.0f} MiB "
              f"(peak {statistics.median(peaks):.0f} MiB)"
              + (f" ({a.workers} workers and the supervisor)" if a.workers else ""))
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        loop = [ln for ln in last_log.splitlines() if "loop" in ln.lower() or "http" in ln.lower()][:3]
        if loop:
            print("server log (last run):", *loop, sep="\n  ")


if __name__ == "__main__":
    main()
