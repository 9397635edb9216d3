"""Independent brute-force references for the tests: plain NumPy, no ccsolve code paths."""

import numpy as np


def brute_force_loss(w_in, w_out, mixing, p, n_samples, seed, one_hot=False, batch=50_000):
    """Plain Monte Carlo of L/p with dense inputs; returns (value, stderr)."""
    rng = np.random.default_rng(seed)
    n = mixing.shape[0]
    per = []
    done = 0
    while done < n_samples:
        b = min(batch, n_samples - done)
        if one_hot:
            x = np.zeros((b, n))
            x[np.arange(b), rng.integers(0, n, b)] = rng.uniform(-1, 1, b)
        else:
            x = rng.uniform(-1, 1, (b, n)) * (rng.random((b, n)) < p)
        y = np.maximum(x, 0) + x @ mixing.T
        y_hat = np.maximum(x @ w_in.T, 0) @ w_out.T
        per.append(((y_hat - y) ** 2).sum(axis=1))
        done += b
    per = np.concatenate(per) / (1.0 if one_hot else n * p)
    return per.mean(), per.std(ddof=1) / np.sqrt(per.size)


def naive_weights(n, d, offset=0.0):
    w_in = np.zeros((d, n))
    w_out = np.zeros((n, d))
    w_in[np.arange(d), np.arange(d)] = 1.0
    w_out[np.arange(d), np.arange(d)] = 1.0
    w_out[d:, :] = offset
    return w_in, w_out
