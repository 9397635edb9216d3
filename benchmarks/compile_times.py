"""Compile time of every Numba kernel a command uses, per signature: cold (empty cache) against warm (cache).

Runs the command twice, each in a fresh process with the same NUMBA_CACHE_DIR (a new temp directory):
  cold   the directory is empty: every kernel is compiled (and saved)
  warm   the directory holds the first run's cache: every kernel should be loaded, none compiled
In both processes numba's Dispatcher.compile is wrapped with a timer, so each (kernel, signature) gets:
  cold s     wall time of its compile in the cold process (inclusive of the callees it compiles;
             "self s" excludes time spent compiling other dispatchers it calls)
  warm s     wall time to get the same signature in the warm process (a cache load if all is well)
  warm how   "cache" (loaded from disk) or "COMPILED" (a cache miss: the cache is not reused)
Kernels compiled for more than one signature are flagged (each extra signature is a full extra compile).
Only dispatchers defined in ccsolve are listed; rows are top-level kernels (called from Python) first.

Run:  python benchmarks/compile_times.py                       (default: -m ccsolve.compare --quiet --steps 500)
      python benchmarks/compile_times.py -- -m ccsolve.compare --quiet --out /tmp/x
      python benchmarks/compile_times.py -- -m pytest -q tests/test_train.py
      python benchmarks/compile_times.py --markdown            (the table as markdown)
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = ["-m", "ccsolve.compare", "--quiet", "--steps", "500"]


def _child(out_path: str, cmd: list) -> None:
    """Run `cmd` (python-style args: -m module ... or script ...) here, recording every compile."""
    from numba.core import dispatcher as d

    records = []
    stack = []  # per active compile: [children seconds]
    orig = d.Dispatcher.compile

    def compile(self, sig):
        n_before = len(self.overloads)
        hits_before = sum(self._cache_hits.values())
        stack.append([0.0])
        t0 = time.perf_counter()
        try:
            return orig(self, sig)
        finally:
            dt = time.perf_counter() - t0
            children = stack.pop()[0]
            if stack:
                stack[-1][0] += dt
            if len(self.overloads) > n_before:  # something new was added (compiled or loaded)
                mod = getattr(self.py_func, "__module__", "") or ""
                if mod.startswith("ccsolve"):
                    hit = sum(self._cache_hits.values()) > hits_before
                    sig_s = str(sig) if not isinstance(sig, tuple) else "(" + ", ".join(map(str, sig)) + ")"
                    records.append({"kernel": f"{mod.split('.')[-1]}.{self.py_func.__name__}", "sig": sig_s,
                                    "seconds": dt, "self": dt - children, "cache_hit": hit,
                                    "depth": len(stack), "t": t0})

    d.Dispatcher.compile = compile
    sys.argv = cmd[:]
    t_start = time.perf_counter()
    try:
        if cmd[0] == "-m":
            sys.argv = cmd[1:]
            runpy.run_module(cmd[1], run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(cmd[0], run_name="__main__")
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        with open(out_path, "w") as f:
            json.dump({"records": records, "wall": time.perf_counter() - t_start}, f)


def _run(cmd: list, cache: str, out_path: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    r = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", out_path, "--", *cmd],
                       env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{r.stderr[-3000:]}")
    with open(out_path) as f:
        return json.load(f)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    cmd = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--markdown", action="store_true", help="print the table as markdown")
    a = ap.parse_args(own)
    cmd = cmd or DEFAULT
    if a.child:
        _child(a.child, cmd)
        return 0

    print(f"command: python {' '.join(cmd)}; load before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="ccsolve_compile_times_") as tmp:
        cache = os.path.join(tmp, "cache")
        os.mkdir(cache)
        cold = _run(cmd, cache, os.path.join(tmp, "cold.json"))
        warm = _run(cmd, cache, os.path.join(tmp, "warm.json"))
    print(f"load after: {os.getloadavg()}")
    warm_by = {(r["kernel"], r["sig"]): r for r in warm["records"]}
    sigs_per_kernel = {}
    for r in cold["records"]:
        sigs_per_kernel.setdefault(r["kernel"], set()).add(r["sig"])
    rows = sorted(cold["records"], key=lambda r: (r["depth"] > 0, -r["seconds"]))
    md = a.markdown
    if md:
        print("| kernel | signature | cold s | self s | warm s | warm how |")
        print("|---|---|---|---|---|---|")
    else:
        print(f"{'kernel':34s} {'cold s':>7s} {'self s':>7s} {'warm s':>7s}  warm how  signature")
    for r in rows:
        w = warm_by.get((r["kernel"], r["sig"]))
        how = "-" if w is None else ("cache" if w["cache_hit"] else "COMPILED")
        ws = "-" if w is None else f"{w['seconds']:.3f}"
        name = r["kernel"] + ("" if r["depth"] == 0 else " (callee)")
        multi = len(sigs_per_kernel[r["kernel"]]) > 1
        sig = r["sig"] if len(r["sig"]) <= 120 or md else r["sig"][:117] + "..."
        if multi:
            name += " [2+ sigs]"
        if md:
            print(f"| {name} | `{sig}` | {r['seconds']:.2f} | {r['self']:.2f} | {ws} | {how} |")
        else:
            print(f"{name:34s} {r['seconds']:7.2f} {r['self']:7.2f} {ws:>7s}  {how:8s}  {sig}")
    top_cold = sum(r["seconds"] for r in cold["records"] if r["depth"] == 0)
    top_warm = sum(r["seconds"] for r in warm["records"] if r["depth"] == 0)
    n_compiled_warm = sum(1 for r in warm["records"] if not r["cache_hit"])
    multi = sorted(k for k, s in sigs_per_kernel.items() if len(s) > 1)
    print(f"{len(cold['records'])} (kernel, signature) pairs; {len(sigs_per_kernel)} kernels; "
          f"kernels with 2+ signatures: {', '.join(multi) or 'none'}")
    print(f"compile/load time of top-level kernels: cold {top_cold:.1f} s, warm {top_warm:.2f} s; "
          f"command wall (in-process): cold {cold['wall']:.1f} s, warm {warm['wall']:.1f} s; "
          f"compiled in the warm process: {n_compiled_warm}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
