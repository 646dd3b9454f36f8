"""Peer benchmark: microsig's order-book engine and hftbacktest 2.4.4 on the whole Binance USD-M capture.

Every scenario of `microsig.peer.PEER_SCENARIOS` (0.01 and 2 BTC market orders, one lot resting at the touch under
each queue model) through both engines on both clocks; prints the agreement table and both engines' wall times
side by side (hftbacktest's include starting its own process and loading the events). Asserts nothing about time.
Run: `microsig bench peer` (needs `make hbt-venv` and the capture in the data directory).
"""
import sys, tempfile, time
from pathlib import Path
import pandas as pd
from microsig.data import binance_files, load_execution_book
from microsig.peer import hbt_events, peer_comparison

capture = sys.argv[1] if len(sys.argv) > 1 else "binance/usdm_btcusdt_20240808.gz"
t0 = time.perf_counter()
lob = load_execution_book("binance", capture)
print(f"microsig: rebuilt {len(lob.book):,} book rows x 100 levels and {len(lob.trades):,} trades in {time.perf_counter() - t0:.1f} s")
with tempfile.TemporaryDirectory() as d:
    ev = Path(d)/"events.npz"
    t0 = time.perf_counter()
    info = hbt_events(binance_files(capture)[0], ev)
    print(f"hftbacktest: converted {info['events']:,} events in {time.perf_counter() - t0:.1f} s")
    t = peer_comparison(lob, ev, span=None, clocks=("T", "E"))
pd.set_option("display.width", 250); pd.set_option("display.max_columns", 30)
print(t.drop(columns=["_differ"]).to_string(index=False, float_format=lambda x: f"{x:,.4g}"))
print(f"wall time, all scenarios: microsig {t['wall s (microsig)'].sum():.2f} s, hftbacktest {t['wall s (hftbacktest)'].sum():.2f} s")
