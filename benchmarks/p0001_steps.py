"""Trained embedding-M models at p = 0.001 against the number of steps (why the published ≈ 0.060?).

    python benchmarks/p0001_steps.py

M = ccsolve.mixing.embedding(100, 1000, seed=0), seed 0, ccsolve.train defaults except the steps:
10,000 and 20,000 plain steps (at p = 0.001 only 9.5% of the batch's samples are non-empty) and
10,000 non-empty batches (non_empty_steps=True: 105,033 steps, what the sparsity sweeps use).
Each L/p: loss_per_feature(method="auto", tol=1e-5).
"""

import ccsolve as cc


def main():
    task = cc.Task(cc.mixing.embedding(100, 1000, seed=0), 50, 0.001)
    print("| steps | L/p at p = 0.001 | stderr | train s |\n|---|---|---|---|")
    for steps, non_empty in ((10_000, False), (20_000, False), (10_000, True)):
        r = cc.train(task, steps=steps, non_empty_steps=non_empty, seed=0, progress=False)
        est = cc.loss_per_feature(r.weights, task, method="auto", tol=1e-5, seed=1)
        label = f"{r.steps:,}" + (" (10,000 non-empty batches)" if non_empty else "")
        print(f"| {label} | {est.value:.5f} | {est.stderr:.1e} | {r.seconds:.1f} |")


if __name__ == "__main__":
    main()
