"""Trade-to-book row links survive slicing and cleaning: the same passive backtest on a full day, a cleaned day and
a slice gives the same fills for the same period (whatever the engine's rules, as long as it is causal)."""
import numpy as np, pandas as pd, pytest
from microsig.data import LobData, simulate_lob, load_lobster, data_dir
from microsig.clean import clean
from microsig.backtest import run_book_backtest

COLS = ["decision_time", "time", "side", "size", "price", "fee", "liquidity"]
GOOG = "lobster/GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"


def rule(book:pd.DataFrame)->np.ndarray:
    "Queue-imbalance rule: the sign of the best-level imbalance where it exceeds 0.6."
    qi = ((book["bid_sz_1"] - book["ask_sz_1"]) / (book["bid_sz_1"] + book["ask_sz_1"])).to_numpy()
    return np.nan_to_num(np.sign(qi) * (np.abs(qi) > 0.6))


def fills(lob:LobData, pos, latency="1ms", size=100)->pd.DataFrame:
    r = run_book_backtest(lob, pos, size=size, order="limit", entry_latency=latency, md_latency=latency)
    return r.fills[COLS].reset_index(drop=True)


def window_fills(lob:LobData, a, b, latency="1ms", size=100):
    "Fills of the rule traded on [a, b) only: on the whole data (kept in [a, b)) and on the slice."
    inside = (lob.book.index >= a) & (lob.book.index < b)
    full = fills(lob, np.where(inside, rule(lob.book), 0.0), latency, size)
    full = full[full["time"] < b].reset_index(drop=True)
    cut = lob.between(a, b)
    return full, fills(cut, rule(cut.book), latency, size)


def test_slice_has_the_fills_of_the_whole_day():
    lob = simulate_lob(30_000, levels=5, seed=3, mode="martingale")
    a, b = lob.book.index[8_000], lob.book.index[22_000]
    full, cut = window_fills(lob, a, b)
    assert (full["liquidity"] == "maker").sum() > 10
    pd.testing.assert_frame_equal(cut, full)


def with_intermediate_rows(lob:LobData, every=7):
    "The same day with a duplicate of every `every`-th trade row inserted before it, printing that row's trades."
    rows = np.unique(lob.trades["event_row"].to_numpy())
    rows = rows[rows > 0][::every]
    n = len(lob.book)
    take = np.sort(np.r_[np.arange(n), rows])                   # row j appears twice: the intermediate copy, then j
    first = np.r_[True, np.diff(take) != 0]                     # the final row of each pair
    dup = np.zeros(len(take), bool); dup[np.flatnonzero(~first) - 1] = True   # the copy comes first
    new_of_old = np.flatnonzero(~dup)                           # position of each old row in the new book
    er = lob.trades["event_row"].to_numpy()
    moved = np.isin(er, rows)
    new_er = np.where(moved, new_of_old[er] - 1, new_of_old[er])   # the trades of row j print at its copy
    book = lob.book.iloc[take]
    events = lob.events.iloc[take]
    return LobData(book, lob.trades.assign(event_row=new_er), events, dict(lob.meta)), dup, int(moved.sum())


def test_cleaned_day_has_the_fills_of_the_day_without_its_intermediate_rows():
    # the reference day S, and the "full" day F: S with intermediate book rows (same time, same book) that print the
    # trades of the row after them; cleaning F removes them (duplicate timestamps) and must give S back, trades included
    s = clean(simulate_lob(30_000, levels=5, seed=5, mode="martingale"))[0]
    f, dup, moved = with_intermediate_rows(s)
    assert dup.sum() > 100 and moved > 100
    c, rep = clean(f)
    pd.testing.assert_frame_equal(c.book, s.book)
    np.testing.assert_array_equal(c.trades["event_row"].to_numpy(), s.trades["event_row"].to_numpy())
    assert rep.attrs["trades_relinked"] == moved
    ps = rule(s.book)
    old = np.cumsum(~dup) - ~dup                                # per row of F: the row of S it shows (the copy: the next)
    pf = np.where(dup, np.r_[0.0, ps][old], ps[np.minimum(old, len(ps) - 1)])   # the copy holds the previous decision
    for lat in ("0ms", "1ms"):
        ref = fills(s, ps, lat)
        assert (ref["liquidity"] == "maker").sum() > 10
        pd.testing.assert_frame_equal(fills(c, ps, lat), ref)     # cleaned day == reference day
        pd.testing.assert_frame_equal(fills(f, pf, lat), ref)     # full day == reference day


@pytest.mark.skipif(not (data_dir()/GOOG).exists(), reason="GOOG LOBSTER sample not in the data directory")
def test_goog_slice_and_cleaned_day():
    lob = load_lobster(GOOG)
    a, b = pd.Timestamp("2012-06-21 12:00", tz="America/New_York"), pd.Timestamp("2012-06-21 12:30", tz="America/New_York")
    full, cut = window_fills(lob, a, b)
    assert len(full) > 0
    pd.testing.assert_frame_equal(cut, full)
    # the cleaned day: every trade's link points at the first kept row at or after the row that printed it
    raw = LobData(lob.book.assign(_raw=np.arange(len(lob.book))), lob.trades.assign(_orig=lob.trades["event_row"]), lob.events, lob.meta)
    c, _ = clean(raw)
    kept = c.book["_raw"].to_numpy()
    to, orig = kept[c.trades["event_row"].to_numpy()], c.trades["_orig"].to_numpy()
    np.testing.assert_array_equal(to, kept[np.searchsorted(kept, orig)])
