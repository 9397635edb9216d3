"""Research checks behind docs/math.md "What does not tighten it" (issue 15). Not a bound; prints numbers.

1. LP: does the top-d right singular subspace of [I + M, -M] (embedding M seed 0, d = 50) contain a strictly
   positive vector? (max t s.t. Q c >= t, |c| <= 1; t = 0 means no.) Also the eigengap (lambda_d -
   lambda_{d+1}) / n of the perturbation argument and the smallest distance^2 of a coordinate vector.
2. Small instances (n = 6, d = 3): Eckart-Young rank d, best of 32 minimize_one_hot starts, rank d - 1.

Run:  python benchmarks/bounds_research.py
"""
def lp_check():
    import ccsolve as cc, numpy as np
    from scipy.optimize import linprog
    M=cc.mixing.embedding(100,1000,seed=0); n=100; d=50
    X=np.hstack([np.eye(n)+M,-M])
    U,s,Vt=np.linalg.svd(X)
    Q=Vt[:d].T   # 200 x 50: top-d right singular subspace
    # maximise t s.t. Q c >= t, -1<=c<=1   (t>0 <=> the subspace contains a strictly positive vector)
    nv=d+1; cobj=np.zeros(nv); cobj[-1]=-1
    A=np.hstack([-Q, np.ones((2*n,1))]); b=np.zeros(2*n)
    r=linprog(cobj,A_ub=A,b_ub=b,bounds=[(-1,1)]*d+[(None,1)])
    print("LP max min-entry:", -r.fun, r.status)
    v=Q@r.x[:d]; print("min entry", v.min(), "norm", np.linalg.norm(v))
    # coordinate vectors (K-vectors): distance^2 to the subspace
    Pi=Q@Q.T; dist=1-np.diag(Pi); print("min over coordinate vectors of ||(I-Pi)e||^2:", dist.min(), "argmin", dist.argmin())
    lam=s**2/6; print("eigengap (lambda_d - lambda_{d+1})/n =", (lam[d-1]-lam[d])/n)


def small():
    import ccsolve as cc, numpy as np
    from ccsolve import constructions as C
    n,d=6,3
    for kind in ["embedding","random"]:
      for seed in range(4):
        m = cc.mixing.embedding(n, 3*n, seed=seed) if kind=="embedding" else cc.mixing.random(n, 0.3, seed=seed)
        t=cc.Task(m,d,one_hot=True)
        r=C.minimize_one_hot(t, init=["svd","snmf","random"], n_inits=30, seed=seed, max_iter=3000)
        print(kind, seed, "EY_d %.5f best %.5f EY_{d-1} %.5f" % (cc.one_hot_lower_bound(m,d), r.one_hot_loss, cc.one_hot_lower_bound(m,d-1)))


if __name__ == "__main__":
    lp_check()
    small()
