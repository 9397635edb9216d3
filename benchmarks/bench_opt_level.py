"""Benchmark: the trainer's sparse_block compiled at LLVM O3 (Numba's default) against O2 (warmup.OPT_LEVEL).

For each level, in a fresh process with an empty NUMBA_CACHE_DIR: compile sparse_block (cold compile time;
a small kernel is compiled first so Numba's own start-up is outside the timing), then train the default
task (embedding mixing, p = 0.01, 50 neurons) --steps steps --repeats times (wall time, median; the first
run's weights are saved). Prints compile and train times per level, the ratios, and whether the weights
of the two levels are bit-identical (np.array_equal on W_in, W_out and the loss curve).

Run:  flock /tmp/timing.lock python benchmarks/bench_opt_level.py [--steps 10000] [--repeats 3] [--levels 2 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, sys, time
import numpy as np
from numba.core import config
import ccsolve as cc
from ccsolve import warmup
level, steps, repeats, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
warmup._compile_one("adamw", warmup.WarmupReport())  # Numba's start-up, outside the timing
disp = warmup._dispatcher("sparse_block")
t = time.perf_counter()
warmup._compile(disp, warmup._signature("sparse_block"), level)
compile_s = time.perf_counter() - t
task = cc.Task(cc.mixing.embedding(100, 1000, seed=0), 50, 0.01)
times = []
for r in range(repeats):
    t = time.perf_counter()
    res = cc.train(task, steps=steps, seed=0, progress=False)
    times.append(time.perf_counter() - t)
    if r == 0:
        np.savez(out, W_in=res.weights.W_in, W_out=res.weights.W_out, losses=np.asarray(res.losses))
print(json.dumps({"compile": compile_s, "train": times}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--levels", type=int, nargs=2, default=[3, 2], help="the order the two processes run in")
    a = ap.parse_args()
    print(f"load before: {os.getloadavg()}")
    res, files = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for level in a.levels:
            cache = os.path.join(tmp, f"cache{level}")
            files[level] = os.path.join(tmp, f"w{level}.npz")
            env = dict(os.environ, NUMBA_CACHE_DIR=cache,
                       PYTHONPATH=ROOT + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH")
                                          else ""))
            out = subprocess.run([sys.executable, "-c", CHILD, str(level), str(a.steps), str(a.repeats), files[level]],
                                 env=env, capture_output=True, text=True, check=True)
            res[level] = json.loads(out.stdout.strip().splitlines()[-1])
        w3, w2 = np.load(files[3]), np.load(files[2])
        same = all(np.array_equal(w3[k], w2[k]) for k in ("W_in", "W_out", "losses"))
    print("| LLVM level | sparse_block cold compile s | train s (median of %d, %d steps) |" % (a.repeats, a.steps))
    print("|---|---|---|")
    for level in (3, 2):
        print(f"| O{level} | {res[level]['compile']:.2f} | {statistics.median(res[level]['train']):.3f} |")
    print(f"compile O2/O3 {res[2]['compile'] / res[3]['compile']:.3f}, "
          f"train O2/O3 {statistics.median(res[2]['train']) / statistics.median(res[3]['train']):.3f}; "
          f"weights and loss curve bit-identical: {same}")
    print(f"load after: {os.getloadavg()}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
