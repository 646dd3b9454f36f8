"""Feature benchmark: the level-10 and level-1 feature sets against a plain pandas reference.

Prints events per second on one core and peak memory relative to the input book arrays; asserts nothing about
time. Run: `microsig bench features` (or `python bench/features.py [n_simulated_events]`).
The fast path and the reference must agree before anything is timed.
"""
import os
os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one core, as the targets are stated
import sys, time, tracemalloc
import numpy as np, pandas as pd
from microsig.data import data_dir, load_lobster, simulate_lob
from microsig.features import LEVEL1_SET, LEVEL10_SET, feature_set

def pandas_reference(book:pd.DataFrame)->pd.DataFrame:
    "Readable vectorised OFI (Cont-Kukanov-Stoikov, weak inequalities) and level-1 queue imbalance."
    pb, qb = book["bid_px_1"].fillna(-np.inf), book["bid_sz_1"]
    pa, qa = book["ask_px_1"].fillna(np.inf), book["ask_sz_1"]
    e = ((pb >= pb.shift()) * qb - (pb <= pb.shift()) * qb.shift()
         - (pa <= pa.shift()) * qa + (pa >= pa.shift()) * qa.shift()).fillna(0.0)
    return pd.DataFrame({"ofi_1": e, "qi_1": (qb - qa) / (qb + qa)})

def best_of(f, n=3):
    best, out = float("inf"), None
    for _ in range(n):
        t = time.perf_counter(); out = f(); best = min(best, time.perf_counter() - t)
    return best, out

def peak_ratio(f, book_bytes):
    "Peak memory allocated while `f` runs, over the size of the book's arrays."
    tracemalloc.start(); f(); _, peak = tracemalloc.get_traced_memory(); tracemalloc.stop()
    return peak / book_bytes

def bench(name, lob):
    n = len(lob.book)
    book_bytes = lob.book.to_numpy().nbytes
    ref = pandas_reference(lob.book)
    fast = feature_set(lob, {"ofi": {"levels": [1]}, "queue_imbalance": {"level": 1}})
    assert np.allclose(fast.iloc[:, 0], ref["ofi_1"], equal_nan=True) and np.allclose(fast.iloc[:, 1], ref["qi_1"], equal_nan=True)
    t_ref, _ = best_of(lambda: pandas_reference(lob.book), 2)
    t_ofi, _ = best_of(lambda: feature_set(lob, {"ofi": {"levels": [1]}, "queue_imbalance": {"level": 1}}))
    print(f"{name}: {n:,} events, book arrays {book_bytes/1e6:,.0f} MB")
    print(f"  pandas reference (OFI + imbalance)   : {n/t_ref/1e6:7.2f} M events/s")
    print(f"  feature_set OFI + imbalance          : {n/t_ofi/1e6:7.2f} M events/s  -> {t_ref/t_ofi:5.1f}x the reference")
    for set_name, spec in (("level-1 set", LEVEL1_SET), ("level-10 set", LEVEL10_SET)):
        if set_name == "level-10 set" and lob.levels < 10: continue
        t, out = best_of(lambda: feature_set(lob, spec))
        mem = peak_ratio(lambda: feature_set(lob, spec), book_bytes)
        print(f"  feature_set {set_name:13s} ({out.shape[1]:3d} cols): {n/t/1e6:7.2f} M events/s  -> {t_ref/t:5.1f}x the reference;"
              f" peak memory {mem:.2f}x the book (target: >= 5 M/s for level 10, >= 20x, <= 3x)")

if __name__ == "__main__":
    feature_set(simulate_lob(10_000, levels=10), LEVEL10_SET)  # compile outside the timing
    goog = data_dir()/"lobster"/"GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
    if goog.exists(): bench("GOOG 2012-06-21 level 10", load_lobster(goog))
    else: print(f"GOOG: skipped ({goog} not found)")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    bench(f"simulator, {n:,} events, level 10", simulate_lob(n, levels=10, seed=0))
