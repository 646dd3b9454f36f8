"""Backtest benchmark: the bar engine on 1,000,000 bars x 10 signal columns and the order-book engine on the GOOG day.

Prints bar-steps per second warm (one core), the first-call time in a fresh process with numba's cache populated,
and book events per second (market and passive orders); asserts nothing about time.
Run: `microsig bench backtest` (or `python bench/backtest.py [n_bars]`).
The fast path and a plain Python reference must agree before anything is timed.
"""
import os
os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one core, as the targets are stated
import subprocess, sys, time
import numpy as np, pandas as pd
from microsig.backtest import run_backtest, run_book_backtest
from microsig.data import data_dir, load_lobster

def reference(op, pos, fee_bps, delay=1):
    "A plain Python loop with the contract's semantics (fill at the open, held units, costs on traded notional)."
    n, m = pos.shape
    eq = np.empty((n, m))
    for j in range(m):
        cash, units, cur = 1.0, 0.0, 0.0
        for t in range(n):
            p = op[t]
            tg = pos[t - delay, j] if t >= delay else 0.0
            tg = 0.0 if np.isnan(tg) else tg
            if tg != cur:
                e = cash + units * p
                nu = tg * e / p
                cash -= (nu - units) * p + abs(nu - units) * p * fee_bps / 1e4
                units, cur = nu, tg
            eq[t, j] = cash + units * p
    return eq

def best_of(f, n=3):
    best, out = float("inf"), None
    for _ in range(n):
        t = time.perf_counter(); out = f(); best = min(best, time.perf_counter() - t)
    return best, out

def make(n, m, seed=0):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    op = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 2e-4, n))
    flip = rng.random((n, m)) < 0.05                       # long/short, a new side on about 1 bar in 20
    side = np.where(rng.random((n, m)) < 0.5, 1.0, -1.0)
    pos = pd.DataFrame(np.where(flip, side, np.nan)).ffill().fillna(0.0).to_numpy()
    return op, close, np.ascontiguousarray(pos)

FIRST_CALL = """
import time, numpy as np
t0 = time.perf_counter()
from microsig.backtest import run_backtest
t1 = time.perf_counter()
op = 100 + np.arange(1000.0); pos = np.sign(np.sin(np.arange(10000.0) / 7)).reshape(1000, 10)
run_backtest({"open": op, "close": op}, pos, fee_bps=5)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""

def main(n=1_000_000, m=10):
    op, cl, pos = make(n, m)
    bars = {"open": op, "close": cl}
    # 1. agreement with the reference on a slice
    k = 5000
    ref = reference(op[:k], pos[:k, :3], 5.0)
    fast = run_backtest({"open": op[:k], "close": cl[:k]}, pos[:k, :3], fee_bps=5).equity_
    assert np.allclose(fast, ref, rtol=1e-12, atol=1e-12), np.abs(fast - ref).max()
    print(f"bar engine agrees with the Python reference on {k:,} bars x 3 columns (max |diff| {np.abs(fast - ref).max():.1e})")
    # 2. warm
    run_backtest(bars, pos, fee_bps=5)
    t, res = best_of(lambda: run_backtest(bars, pos, fee_bps=5))
    print(f"bar engine, {n:,} bars x {m} columns, long/short with fees: {t*1e3:.0f} ms warm, "
          f"{n*m/t/1e6:.1f} M bar-steps/s ({len(res.fills_):,} fills)")
    # 3. first call in a fresh process, numba's cache populated (by the calls above)
    out = subprocess.run([sys.executable, "-c", FIRST_CALL], capture_output=True, text=True, check=True,
                         env={**os.environ, "NUMBA_NUM_THREADS": "1"}).stdout.split()
    print(f"first call in a fresh process (warm cache): import {float(out[0]):.2f} s, first run_backtest {float(out[1]):.2f} s")
    # 4. the order-book engine on the GOOG day
    try: lob = load_lobster("lobster/GOOG_2012-06-21_34200000_57600000_message_10.csv.gz")
    except Exception as e:
        print(f"order-book engine: GOOG data not found under {data_dir()} ({type(e).__name__}); skipped"); return
    b = lob.book
    qi = (b["bid_sz_1"] - b["ask_sz_1"]) / (b["bid_sz_1"] + b["ask_sz_1"])
    sig = np.sign(qi.to_numpy()) * (qi.abs().to_numpy() > 0.6)   # follow a strong queue imbalance
    nb = len(b)
    import microsig.backtest as B
    kernel, spent = B._book_nb, []
    def timed(*a):
        t0 = time.perf_counter(); out = kernel(*a); spent.append(time.perf_counter() - t0); return out
    B._book_nb = timed
    try:
        for order in ("market", "limit"):
            run_book_backtest(lob, sig, size=100, order=order, entry_latency="1ms", md_latency="1ms")
            spent.clear()
            t, r = best_of(lambda: run_book_backtest(lob, sig, size=100, order=order, entry_latency="1ms", md_latency="1ms"))
            print(f"order-book engine ({order} orders), GOOG 2012-06-21, {nb:,} events: {nb/min(spent)/1e6:.1f} M events/s in the kernel "
                  f"({min(spent)*1e3:.1f} ms); {nb/t/1e6:.1f} M events/s with the pandas wrapper ({t*1e3:.1f} ms); {len(r.fills):,} fills")
    finally: B._book_nb = kernel

if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
