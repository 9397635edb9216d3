"""Benchmark: a newcomer's first run (issue 17): cold against warm Numba cache, in fresh processes.

Times, each in a new Python process (wall clock, parent side):
  import           python -c "import ccsolve"                         (best of --repeats)
  --help           python -m ccsolve.compare --help                   (best of --repeats)
  cold             python -m ccsolve.compare --quiet [ARGS]  with NUMBA_CACHE_DIR an empty temp directory
  warm             the same command again with the same (now filled) cache directory
and prints warm/cold times, the cold/warm ratio, the "table" time each run reports ("total ... s"), the
CPU time of each run (with the compile helper process compare starts on a cold cache: on a loaded
machine CPU time says more about compile work than wall time) and the number of cache files written.
The load average is printed before and after: the machine is shared, so compare the two runs of one
invocation, not numbers of different invocations.

Run:  python benchmarks/bench_coldstart.py [--repeats 3] [--warm-runs 1] [--args "--steps 10000"]
      python benchmarks/bench_coldstart.py --command "-m pytest -q tests/test_x.py"   (any python args)
      python benchmarks/bench_coldstart.py --fresh-venv      (also README's first command, as a newcomer)
      python benchmarks/bench_coldstart.py --baseline main   (also cold/warm of another commit, same run)

--fresh-venv additionally clones this repository's HEAD into a temporary directory, makes a fresh
virtual environment there and times README's first command in it, `pip install -e . && python -m
ccsolve.compare` (pip uses its cache as usual; the Numba cache is the fresh clone's __pycache__), and
prints install, table and total wall time.
For timings to report on a shared machine: `flock /tmp/timing.lock python benchmarks/bench_coldstart.py`.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(cache_dir: str | None, root: str = ROOT) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(args: list, cache_dir: str | None = None, root: str = ROOT) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, *args], env=_env(cache_dir, root), cwd=root, capture_output=True,
                         text=True, check=False)
    dt = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(f"{args} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return dt, out.stdout


def _run_cpu(args: list, cache_dir: str | None = None, root: str = ROOT) -> tuple[float, str, float]:
    """(wall s, stdout, CPU s of the process and every process it waited for, e.g. a compile helper)."""
    c0 = _cpu_children()
    dt, out = _run(args, cache_dir, root)
    return dt, out, _cpu_children() - c0


def _table_seconds(stdout: str):
    m = re.search(r"^total ([0-9.]+) s", stdout, re.M)
    return float(m.group(1)) if m else None


def _n_cache_files(d: str) -> int:
    return sum(1 for _, _, files in os.walk(d) for f in files if f.endswith(".nbc"))


def _fresh_venv() -> None:
    """README's first command in a fresh clone and virtual environment (see the module doc)."""
    import shutil

    with tempfile.TemporaryDirectory(prefix="ccsolve_fresh_") as tmp:
        repo = os.path.join(tmp, "ccsolve")
        subprocess.run(["git", "clone", "-q", ROOT, repo], check=True)
        env = {k: val for k, val in os.environ.items()
               if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR", "VIRTUAL_ENV")}
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "venv", os.path.join(repo, ".venv")], check=True, env=env)
        py = os.path.join(repo, ".venv", "bin", "python")
        env["PATH"] = os.path.join(repo, ".venv", "bin") + os.pathsep + env.get("PATH", "")
        env["VIRTUAL_ENV"] = os.path.join(repo, ".venv")
        r = subprocess.run([py, "-m", "pip", "install", "-q", "-e", "."], cwd=repo, env=env,
                           capture_output=True, text=True, check=False)
        t_install = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"pip install -e . failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
        t1 = time.perf_counter()
        r = subprocess.run([py, "-m", "ccsolve.compare"], cwd=repo, env=env, capture_output=True, text=True,
                           check=False)
        t_run = time.perf_counter() - t1
        if r.returncode != 0:
            raise SystemExit(f"python -m ccsolve.compare failed:\n{r.stderr[-3000:]}")
        tab = _table_seconds(r.stdout)
        print("fresh clone + venv: pip install -e . && python -m ccsolve.compare (README's first command)")
        print(f"  venv + pip install -e .              {t_install:7.1f} s wall")
        print(f"  python -m ccsolve.compare (cold)     {t_run:7.1f} s wall" + (f", table {tab:.1f} s" if tab else ""))
        print(f"  in all                               {t_install + t_run:7.1f} s wall")
        shutil.rmtree(repo, ignore_errors=True)


def _cold_warm(cmd: list, root: str, label: str, warm_runs: int) -> float:
    """Cold then warm runs of `cmd` with the ccsolve of `root`; prints them; returns cold/warm (table)."""
    with tempfile.TemporaryDirectory(prefix="ccsolve_numba_cache_") as cache:
        t_cold, out_cold, cpu_cold = _run_cpu(cmd, cache, root)
        n_files = _n_cache_files(cache)
        warm = [_run_cpu(cmd, cache, root) for _ in range(warm_runs)]
        n_files_after = _n_cache_files(cache)
    t_warm, out_warm, cpu_warm = min(warm, key=lambda r: r[0])
    tab_cold, tab_warm = _table_seconds(out_cold), _table_seconds(out_warm)
    print(f"[{label}] load {os.getloadavg()[0]:.1f}")
    print(f"  cold (empty NUMBA_CACHE_DIR)         {t_cold:7.1f} s wall"
          + (f", table {tab_cold:.1f} s" if tab_cold is not None else "")
          + f"; CPU {cpu_cold:.1f} s; {n_files} cache files written")
    print(f"  warm (same cache dir, best of {warm_runs})    {t_warm:7.1f} s wall"
          + (f", table {tab_warm:.1f} s" if tab_warm is not None else "")
          + f"; CPU {cpu_warm:.1f} s; {n_files_after - n_files} more cache files")
    print(f"  cold / warm                          {t_cold / t_warm:7.2f}x wall"
          + (f", {tab_cold / tab_warm:.2f}x table" if tab_cold and tab_warm else "")
          + f", {cpu_cold / cpu_warm:.2f}x CPU")
    return (tab_cold / tab_warm) if tab_cold and tab_warm else t_cold / t_warm


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the import / --help timings (best kept)")
    ap.add_argument("--warm-runs", type=int, default=1, help="warm runs after the cold one (best kept)")
    ap.add_argument("--args", default="", help="extra arguments of python -m ccsolve.compare --quiet")
    ap.add_argument("--command", default=None,
                    help="time these python arguments instead of the compare command (e.g. '-m pytest -q')")
    ap.add_argument("--baseline", default=None, metavar="GITREF",
                    help="also measure cold/warm for this commit of the repository (e.g. main), same invocation")
    ap.add_argument("--fresh-venv", action="store_true",
                    help="also time README's first command in a fresh clone + virtual environment")
    a = ap.parse_args(argv)

    print(f"bench_coldstart {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC | "
          f"python {platform.python_version()} | {platform.machine()} | cpus {os.cpu_count()}")
    print("load before:", os.getloadavg())
    t_import = min(_run(["-c", "import ccsolve"])[0] for _ in range(a.repeats))
    t_numpy = min(_run(["-c", "import numpy"])[0] for _ in range(a.repeats))
    t_help = min(_run(["-m", "ccsolve.compare", "--help"])[0] for _ in range(a.repeats))
    print(f"python -c 'import numpy'               {t_numpy:7.2f} s (best of {a.repeats})")
    print(f"python -c 'import ccsolve'             {t_import:7.2f} s (best of {a.repeats})")
    print(f"python -m ccsolve.compare --help       {t_help:7.2f} s (best of {a.repeats})")

    cmd = shlex.split(a.command) if a.command else ["-m", "ccsolve.compare", "--quiet", *shlex.split(a.args)]
    print(f"command: python {' '.join(cmd)}")
    ratio = _cold_warm(cmd, ROOT, "this tree", a.warm_runs)
    if a.baseline:
        with tempfile.TemporaryDirectory(prefix="ccsolve_baseline_") as base:
            archive = subprocess.run(["git", "-C", ROOT, "archive", a.baseline], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", base], input=archive.stdout, check=True)
            base_ratio = _cold_warm(cmd, base, f"baseline {a.baseline}", a.warm_runs)
        print(f"cold / warm: this tree {ratio:.2f}x, baseline {a.baseline} {base_ratio:.2f}x (table)")
    if a.fresh_venv:
        _fresh_venv()
    print("load after:", os.getloadavg())
    return 0


if __name__ == "__main__":
    sys.exit(main())
