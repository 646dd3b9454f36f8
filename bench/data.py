"""Data-layer benchmark: LOBSTER parse vs pandas.read_csv, parquet-cache reload, simulator throughput.

Prints figures; asserts nothing about time. Run: `make bench` or `microsig bench data`.
Checks that the fast path and the reference agree before timing them.
"""
import gzip, os, tempfile, time
from pathlib import Path
import numpy as np, pandas as pd
from microsig.data import data_dir, load_lobster, lobster_files, simulate_lob

def best_of(f, n=3):
    "The fastest of `n` timed calls of `f`, and its last result."
    best, out = float("inf"), None
    for _ in range(n):
        t = time.perf_counter(); out = f(); best = min(best, time.perf_counter() - t)
    return best, out

def bench_lobster():
    prefix = data_dir()/"lobster"/"GOOG_2012-06-21_34200000_57600000"
    try: msg, ob, info = lobster_files(prefix, 10)
    except Exception as e:
        print(f"LOBSTER GOOG level 10: skipped ({e})"); return
    mb = sum(len(gzip.open(f).read()) for f in (msg, ob)) / 1e6
    # correctness first: the parser and pandas agree on every value
    ref_ob = pd.read_csv(ob, header=None).to_numpy(float)
    lob = load_lobster(msg, cache=False)
    px = lob.book.iloc[:, 0::2].to_numpy() * 10_000
    dummy = np.abs(ref_ob[:, 0::2]) >= 9_999_999_999
    assert np.allclose(np.where(dummy, np.nan, ref_ob[:, 0::2]), px, equal_nan=True, rtol=0, atol=1e-6)
    n = len(lob.book)
    t_pd, _ = best_of(lambda: (pd.read_csv(msg, header=None), pd.read_csv(ob, header=None)))
    t_csv, _ = best_of(lambda: load_lobster(msg, cache=False))
    with tempfile.TemporaryDirectory() as cache:
        os.environ["MICROSIG_CACHE_DIR"] = cache
        load_lobster(msg)  # fills the cache
        t_cache, _ = best_of(lambda: load_lobster(msg), 5)
        del os.environ["MICROSIG_CACHE_DIR"]
    print(f"LOBSTER GOOG level 10: {n:,} events, {mb:.1f} MB of uncompressed CSV (message + orderbook, gzipped on disk)")
    print(f"  pandas.read_csv (defaults, both files): {t_pd*1e3:7.1f} ms  {n/t_pd/1e6:5.2f} M events/s  {mb/t_pd:6.0f} MB/s")
    print(f"  load_lobster from CSV (no cache)      : {t_csv*1e3:7.1f} ms  {n/t_csv/1e6:5.2f} M events/s  {mb/t_csv:6.0f} MB/s"
          f"  -> {t_pd/t_csv:.2f}x pandas (target >= 1)")
    print(f"  load_lobster from the parquet cache   : {t_cache*1e3:7.1f} ms  {n/t_cache/1e6:5.2f} M events/s"
          f"  -> {t_csv/t_cache:.1f}x the CSV parse (target >= 10), {t_pd/t_cache:.1f}x pandas")

def bench_simulator(n=2_000_000):
    simulate_lob(10_000, levels=10, seed=0)  # compile outside the timing
    simulate_lob(10_000, levels=10, seed=0, mode="martingale")
    for mode in ("queue", "martingale"):
        for levels in (1, 10):
            t, lob = best_of(lambda: simulate_lob(n, levels=levels, seed=1, mode=mode), 2)
            print(f"simulate_lob mode={mode:10s} levels={levels:2d}: {n/t/1e6:5.2f} M events/s ({n:,} events in {t:.2f} s, LobData included; target >= 1)")

if __name__ == "__main__":
    bench_lobster()
    bench_simulator()
