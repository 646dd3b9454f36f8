"""Lake benchmark: ingest throughput per format, bytes on disk per record, read-back of a partition against parsing
its source, and the peak memory of an ingest as the number of files grows.

Prints figures; asserts nothing about time. Run: `microsig bench ingest` (or `make bench`).
A format whose files are not in the data directory, or whose loader is not installed, is reported as skipped.
"""
import os, resource, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import pandas as pd
from microsig.data import data_dir, plan_ingest, ingest, load_unit, read_partition, lake_partitions

FORMATS = [  # (name, paths under the data directory)
    ("LOBSTER GOOG level 10", ["lobster/GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"]),
    ("Binance spot BTCUSDT (2 files)", ["binance/spot_btcusdt_20240808.gz", "binance/spot_btcusdt_20240809.gz"]),
    ("Databento ESH4 MBO", ["databento/esh4-glbx-mdp3-20231225.mbo.dbn.zst"]),
    ("Tardis quotes + trades", ["tardis/binance-futures_quotes_BTCUSDT_2020-02-22.csv.gz",
                                "tardis/binance-futures_trades_BTCUSDT_2020-02-22.csv.gz"]),
    ("Equity ticks AIG 2013-10-07", ["equity_ticks/aig/20131007_quote.zip", "equity_ticks/aig/20131007_trade.zip"]),
    ("Bitstamp BTCUSD 2015-05-01", ["bitstamp/bitstamp_btcusd_2015-05-01.log.bz2"]),
]

def source_records(lob)->int:
    "Records the source held: the loader's own count when it gives one, else events, else book rows + trades (+ ticker rows)."
    m = lob.meta
    for k in ("records", "lines", "source_records"):
        if isinstance(m.get(k), int): return m[k]
        if isinstance(m.get("stats"), dict) and isinstance(m["stats"].get(k), int): return m["stats"][k]
    if lob.events is not None: return len(lob.events)
    return len(lob.book) + (0 if lob.trades is None else len(lob.trades)) + (0 if lob.ticker is None else len(lob.ticker))

def best_of(f, n=3):
    best, out = float("inf"), None
    for _ in range(n):
        t = time.perf_counter(); out = f(); best = min(best, time.perf_counter() - t)
    return best, out

def bench_format(name, paths):
    files = [data_dir()/p for p in paths]
    if not all(f.exists() for f in files): print(f"{name}: skipped (not in {data_dir()})"); return
    units, _ = plan_ingest(files)
    try: lob = load_unit(units[0])      # warms the loader (numba compiles) outside the timings
    except (ImportError, AttributeError) as e: print(f"{name}: skipped ({e})"); return
    n = source_records(lob)
    t_parse, _ = best_of(lambda: load_unit(units[0]))
    lakes = []
    def one():
        lake = Path(tempfile.mkdtemp()); lakes.append(lake); ingest(files, lake); return lake
    t_ing, lake = best_of(one)
    parts = lake_partitions(lake)
    disk = sum(f.stat().st_size for p in parts for f in p.glob("*.parquet"))
    t_read, _ = best_of(lambda: [read_partition(p) for p in parts], 5)
    for l in lakes: shutil.rmtree(l, ignore_errors=True)
    print(f"{name}: {n:,} source records -> {len(parts)} partition(s), {len(lob.book):,} book rows")
    print(f"  ingest (parse + split + write)   : {t_ing:7.3f} s  {n/t_ing/1e6:6.2f} M records/s")
    print(f"  parse alone (the loader, no cache): {t_parse:7.3f} s  {n/t_parse/1e6:6.2f} M records/s")
    print(f"  on disk                          : {disk/1e6:7.2f} MB  {disk/n:6.1f} bytes/record")
    print(f"  read back every partition        : {t_read:7.3f} s  -> {t_parse/t_read:5.1f}x faster than parsing the source (target >= 10)")

MEM = r'''
import resource, sys, tempfile
from microsig.data import ingest
ingest(sys.argv[2:], sys.argv[1])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
'''

def bench_memory(copies=(1, 4)):
    "Peak resident memory of one ingest process as the number of LOBSTER days grows: one unit in memory at a time."
    src = data_dir()/"lobster"/"GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
    if not src.exists(): print("ingest peak memory: skipped (no GOOG level-10 file)"); return
    ob = src.with_name(src.name.replace("message", "orderbook"))
    for k in copies:
        with tempfile.TemporaryDirectory() as d:
            d = Path(d); raw = d/"raw"; raw.mkdir()
            for i in range(k):   # the same day under k ticker names: k units, k partitions
                for f in (src, ob): shutil.copy(f, raw/f.name.replace("GOOG", f"GOO{chr(65 + i)}"))
            out = subprocess.run([sys.executable, "-c", MEM, str(d/"lake"), str(raw)], capture_output=True, text=True, check=True)
            print(f"ingest peak memory, {k} LOBSTER day(s) of 147,916 events: {int(out.stdout.split()[-1])/1024:6.0f} MB resident")

if __name__ == "__main__":
    for name, paths in FORMATS: bench_format(name, paths)
    bench_memory()
