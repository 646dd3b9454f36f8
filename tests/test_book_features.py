"""Tests for book_features: hand-worked OFI cases, pandas references on real and simulated books, causality of every feature, edge cases."""
import numpy as np, pandas as pd, pytest
from hypothesis import given, settings, HealthCheck, strategies as st

from microsig.data import LobData, MicrosigError, book_columns, data_dir, load_binance, load_lobster, simulate_lob
from microsig.features import (FEATURES, LEVEL1_SET, LEVEL10_SET, book_slope, depth_imbalance, depth_profile,
                           feature_set, log_returns, mid_price, multilevel_ofi, order_flow_imbalance, queue_imbalance,
                           realized_volatility, spread, time_of_day, trade_flow, vwap_distance, weighted_depth,
                           weighted_mid)
from microsig.features import _book_data, _utc_offsets

GOOG = data_dir()/"lobster/GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
BINANCE = data_dir()/"binance/spot_btcusdt_2024080"
TICK = 0.01

# %% the readable references: plain pandas, one line per term of the formula
def ofi_reference(book:pd.DataFrame, level:int=1)->pd.Series:
    "e_n of Cont, Kukanov and Stoikov (2014) with weak inequalities; empty bid = price -inf, empty ask = +inf, size 0."
    pa, qa = book[f"ask_px_{level}"], book[f"ask_sz_{level}"]
    pb, qb = book[f"bid_px_{level}"], book[f"bid_sz_{level}"]
    qa, qb = qa.where(pa.notna(), 0.0), qb.where(pb.notna(), 0.0)
    pa, pb = pa.fillna(np.inf), pb.fillna(-np.inf)
    pa0, qa0, pb0, qb0 = pa.shift(), qa.shift(), pb.shift(), qb.shift()
    e = (qb.where(pb >= pb0, 0.0) - qb0.where(pb <= pb0, 0.0)
         - qa.where(pa <= pa0, 0.0) + qa0.where(pa >= pa0, 0.0))
    e.iloc[:1] = 0.0
    return e.rename(f"ofi_{level}")

def multilevel_ofi_reference(book:pd.DataFrame, levels)->pd.DataFrame:
    return pd.concat([ofi_reference(book, l) for l in levels], axis=1)

def queue_imbalance_reference(book:pd.DataFrame, level:int=1)->pd.Series:
    "(qb - qa)/(qb + qa), an empty level counting as size 0 (0/0 is NaN)."
    qa = book[f"ask_sz_{level}"].where(book[f"ask_px_{level}"].notna(), 0.0)
    qb = book[f"bid_sz_{level}"].where(book[f"bid_px_{level}"].notna(), 0.0)
    return ((qb - qa) / (qb + qa)).rename(f"qi_{level}")

def sizes(book, side, levels):
    "Sizes of levels 1..levels on one side, 0 where the level is empty."
    return pd.concat([book[f"{side}_sz_{l}"].where(book[f"{side}_px_{l}"].notna(), 0.0) for l in range(1, levels + 1)], axis=1).to_numpy()

def prices(book, side, levels):
    return pd.concat([book[f"{side}_px_{l}"] for l in range(1, levels + 1)], axis=1).to_numpy()

# %% books
def make_book(rows, levels=1, start="2024-01-02 09:30", step="1s", tz="America/New_York"):
    "A book from rows of (ask_px, ask_sz, bid_px, bid_sz, ...) in LOBSTER order."
    idx = pd.date_range(start, periods=len(rows), freq=step, tz=tz, name="time")
    return pd.DataFrame(np.array(rows, dtype=float).reshape(len(rows), 4 * levels), index=idx, columns=book_columns(levels))

def make_lob(book):
    "A LobData around `book` with no trades."
    trades = pd.DataFrame({"price": [], "size": [], "side": []}, index=book.index[:0])
    return LobData(book, trades, None, {"tick_size": TICK, "levels": len(book.columns) // 4})

def with_holes(book, seed, frac=0.05):
    "A copy of `book` with a fraction of its deeper levels (and a few best levels) emptied: price NaN, size 0."
    rng = np.random.default_rng(seed)
    b = book.copy()
    levels = len(b.columns) // 4
    for l in range(1, levels + 1):
        for side in ("ask", "bid"):
            hole = rng.random(len(b)) < frac * (l / levels)
            b.loc[hole, f"{side}_px_{l}"] = np.nan
            b.loc[hole, f"{side}_sz_{l}"] = 0.0
    return b

@pytest.fixture(scope="module")
def goog(goog10):
    return goog10       # conftest's: one load of the sample per session

@pytest.fixture(scope="module")
def sim():
    return simulate_lob(60_000, levels=5, seed=3)

# %% OFI: each branch of the formula, by hand
BASE = (10.02, 100, 10.00, 200)

@pytest.mark.parametrize("after,expected,case", [
    ((10.02, 100, 10.01, 50), 50, "bid price up: + new bid size"),
    ((10.02, 100, 10.00, 260), 60, "bid price unchanged: + size change (a strict inequality would give 0)"),
    ((10.02, 100, 9.99, 70), -200, "bid price down: - old bid size"),
    ((10.01, 30, 10.00, 200), -30, "ask price down: - new ask size"),
    ((10.02, 130, 10.00, 200), -30, "ask price unchanged: - size change"),
    ((10.03, 80, 10.00, 200), 100, "ask price up: + old ask size"),
])
def test_ofi_branches(after, expected, case):
    e = order_flow_imbalance(make_book([BASE, after]))
    assert e.tolist() == [0.0, expected], case

def test_ofi_first_row_zero_and_sum():
    b = make_book([BASE, (10.02, 100, 10.01, 50), (10.01, 30, 10.01, 50), (10.01, 30, 10.01, 80)])
    e = order_flow_imbalance(b)
    assert e.tolist() == [0.0, 50.0, -30.0, 30.0]
    assert e.index.equals(b.index) and e.name == "ofi_1"

def test_ofi_empty_levels():
    # empty bid = -inf, empty ask = +inf, size 0: a queue appearing adds its size, vanishing removes it, staying empty adds 0
    nan = np.nan
    rows = [(10.02, 100, nan, 0), (10.02, 100, 10.00, 40), (10.02, 100, nan, 0), (10.02, 100, nan, 0),
            (nan, 0, 10.00, 40), (10.05, 70, 10.00, 40)]
    e = order_flow_imbalance(make_book(rows))
    assert e.tolist() == [0.0, 40.0, -40.0, 0.0, 40.0 + 100.0, -70.0]
    assert e.equals(ofi_reference(make_book(rows)))

def test_ofi_ignores_size_of_empty_level_and_propagates_unknown_size():
    nan = np.nan
    # a NaN price with a stray size is still empty; a NaN size at a present price is unknown
    e = order_flow_imbalance(make_book([(10.02, 100, nan, 999), (10.02, 100, 10.00, 40)]))
    assert e.tolist() == [0.0, 40.0]
    e = order_flow_imbalance(make_book([(10.02, 100, 10.00, 40), (10.02, 100, 10.00, nan), (10.02, 100, 10.01, 10)]))
    assert e.iloc[0] == 0 and np.isnan(e.iloc[1]) and e.iloc[2] == 10.0  # bid up: only the new size counts

def test_multilevel_level1_is_ofi(sim):
    m = multilevel_ofi(sim.book, 3)
    assert list(m.columns) == ["ofi_1", "ofi_2", "ofi_3"]
    assert m["ofi_1"].equals(order_flow_imbalance(sim.book))
    assert multilevel_ofi(sim.book, [2]).iloc[:, 0].equals(order_flow_imbalance(sim.book, level=2))
    assert multilevel_ofi(sim.book).shape[1] == 5

# %% numba path == pandas reference
def check_against_reference(book, levels):
    pd.testing.assert_frame_equal(multilevel_ofi(book, levels), multilevel_ofi_reference(book, range(1, levels + 1)))
    for l in (1, levels):
        pd.testing.assert_series_equal(queue_imbalance(book, l), queue_imbalance_reference(book, l))

def test_reference_goog(goog):
    check_against_reference(goog.book, 10)

def test_reference_simulated(sim):
    check_against_reference(sim.book, 5)
    check_against_reference(with_holes(sim.book, seed=1, frac=0.2), 5)
    check_against_reference(simulate_lob(20_000, levels=3, seed=9, mode="martingale", signal=0.5).book, 3)

def test_reference_binance():
    if not BINANCE.with_name(BINANCE.name + "8.gz").exists(): pytest.skip("Binance capture not in the data directory")
    lob = load_binance(BINANCE, resync=True)
    check_against_reference(lob.book, 10)
    f = feature_set(lob, LEVEL10_SET)
    assert len(f) == len(lob.book) and f["ofi_1"].notna().all()

def test_book_is_read_in_place(sim):
    # the loaders' and the simulator's books are one row-major array: the sweep reads it without a copy
    cols = [sim.book[c].to_numpy() for c in book_columns(5)]
    bk = _book_data(cols)
    assert isinstance(bk, np.ndarray) and np.shares_memory(bk, cols[0]) and bk.shape == (len(sim.book), 20)
    # a frame stored column by column (the parquet cache) is read column by column, still without a copy
    cached = pd.DataFrame({c: sim.book[c].to_numpy().copy() for c in book_columns(5)}, index=sim.book.index)
    bk = _book_data([cached[c].to_numpy() for c in book_columns(5)])
    assert isinstance(bk, tuple) and all(np.shares_memory(a, cached[c].to_numpy()) for a, c in zip(bk, book_columns(5)))
    pd.testing.assert_frame_equal(multilevel_ofi(cached, 5), multilevel_ofi(sim.book, 5))

def test_reference_on_a_copied_book(sim):
    # columns out of LOBSTER order force the copying path of the book matrix
    b = sim.book[book_columns(5)[::-1]]
    check_against_reference(b, 5)

# %% the other features against direct formulas
def test_level1_features(sim):
    b = with_holes(sim.book, seed=2, frac=0.3)
    pa, qa, pb, qb = b["ask_px_1"], b["ask_sz_1"], b["bid_px_1"], b["bid_sz_1"]
    mid = (pa + pb) / 2
    np.testing.assert_array_equal(mid_price(b), mid)
    np.testing.assert_array_equal(spread(b), pa - pb)
    np.testing.assert_allclose(spread(b, TICK, "ticks"), (pa - pb) / TICK, rtol=1e-15)
    np.testing.assert_allclose(spread(b, unit="bps"), (pa - pb) / mid * 1e4, rtol=1e-15)
    I = qb / (qb + qa)
    np.testing.assert_allclose(weighted_mid(b), I * pa + (1 - I) * pb, rtol=1e-15)
    assert mid.isna().any()  # the holes reach level 1

def test_depth_imbalance_and_profile(sim):
    b = with_holes(sim.book, seed=4, frac=0.3)
    qb, qa = sizes(b, "bid", 5), sizes(b, "ask", 5)
    d = depth_imbalance(b, [2, 5])
    for L in (2, 5):
        B, A = qb[:, :L].sum(1), qa[:, :L].sum(1)
        with np.errstate(invalid="ignore"):
            np.testing.assert_allclose(d[f"depth_imb_{L}"], (B - A) / (B + A), rtol=1e-14)
    s = depth_imbalance(b, 5)
    assert isinstance(s, pd.Series) and s.name == "depth_imb_5"
    np.testing.assert_array_equal(depth_imbalance(b, 1), queue_imbalance(b))
    p = depth_profile(b, 5)
    np.testing.assert_array_equal(p[[f"depth_bid_{l}" for l in range(1, 6)]], qb)
    np.testing.assert_array_equal(p[[f"depth_ask_{l}" for l in range(1, 6)]], qa)

def weighted_depth_reference(b, levels, decay, tick):
    mid = ((b["ask_px_1"] + b["bid_px_1"]) / 2).to_numpy()[:, None]
    with np.errstate(invalid="ignore"):
        wb = np.nansum(sizes(b, "bid", levels) * np.exp(-decay * np.abs(prices(b, "bid", levels) - mid) / tick), 1)
        wa = np.nansum(sizes(b, "ask", levels) * np.exp(-decay * np.abs(prices(b, "ask", levels) - mid) / tick), 1)
    one_sided = np.isnan(mid[:, 0])
    wb[one_sided] = wa[one_sided] = np.nan
    return wb, wa

@pytest.mark.parametrize("decay", [0.0, 0.1, 1.5])
def test_weighted_depth(sim, decay):
    b = with_holes(sim.book, seed=5, frac=0.3)
    w = weighted_depth(b, 5, decay, tick_size=TICK)
    wb, wa = weighted_depth_reference(b, 5, decay, TICK)
    # on the tick grid the kernel's distances are exact half ticks; the direct formula carries p - mid's rounding
    np.testing.assert_allclose(w["wdepth_bid"], wb, rtol=1e-10)
    np.testing.assert_allclose(w["wdepth_ask"], wa, rtol=1e-10)
    np.testing.assert_allclose(w["wdepth_imb"], (w["wdepth_bid"] - w["wdepth_ask"]) / (w["wdepth_bid"] + w["wdepth_ask"]), rtol=1e-15)

def test_weighted_depth_off_grid_and_far_levels():
    # prices off the half-tick grid and a level beyond the weight table take the exact exp
    b = make_book([(10.0137, 100, 9.9951, 200, 31.0, 50, 9.98, 10), (10.02, 100, 10.00, 200, 10.03, 5, 9.0, 7)], levels=2)
    w = weighted_depth(b, 2, 0.2, tick_size=TICK)
    wb, wa = weighted_depth_reference(b, 2, 0.2, TICK)
    np.testing.assert_allclose(w["wdepth_bid"], wb, rtol=1e-12)
    np.testing.assert_allclose(w["wdepth_ask"], wa, rtol=1e-12)

def test_book_slope(sim):
    b = with_holes(sim.book.iloc[:3000], seed=6, frac=0.5)
    s = book_slope(b, 5)
    mid = ((b["ask_px_1"] + b["bid_px_1"]) / 2).to_numpy()
    for side, col in (("bid", "slope_bid"), ("ask", "slope_ask")):
        px, q = prices(b, side, 5), sizes(b, side, 5)
        expected = np.full(len(b), np.nan)
        for i in range(len(b)):
            ok = ~np.isnan(px[i])
            if ok.sum() >= 2 and not np.isnan(mid[i]):
                expected[i] = np.polyfit(np.abs(px[i, ok] - mid[i]) / mid[i] * 1e4, np.cumsum(q[i, ok]), 1)[0]
        np.testing.assert_allclose(s[col], expected, rtol=1e-7)
        assert np.isfinite(s[col]).mean() > 0.5

def test_log_returns_and_volatility(sim):
    b = with_holes(sim.book, seed=7, frac=0.2)
    lm = np.log((b["ask_px_1"] + b["bid_px_1"]) / 2)
    r = log_returns(b, [1, 7])
    for h in (1, 7):
        np.testing.assert_array_equal(r[f"logret_{h}"], lm - lm.shift(h))
    assert isinstance(log_returns(b, 3), pd.Series)
    # returns between consecutive rows that have a mid; a row without one adds nothing
    step = lm.ffill().diff().fillna(0.0)
    expected = np.sqrt((step ** 2).rolling(50).sum())
    expected.iloc[:50] = np.nan
    np.testing.assert_allclose(realized_volatility(b, 50), expected, rtol=1e-9, atol=1e-15)

def trade_flow_reference(lob, window):
    "Brute force: for each book row, the trades with row <= t (event_row) and inside its window."
    t_book = lob.book.index.as_unit("ns").asi8
    tr = lob.trades
    t_tr = tr.index.as_unit("ns").asi8
    rows = tr["event_row"].to_numpy() if "event_row" in tr else np.searchsorted(t_book, t_tr, "left")
    out = np.full((len(t_book), 4), np.nan)
    for i in range(len(t_book)):
        seen = rows <= i
        inside = (t_tr > t_book[i] - pd.Timedelta(window).value) if isinstance(window, str) else (rows > i - window)
        w = tr[seen & inside]
        buy, sell = w["size"][w["side"] > 0].sum(), w["size"][w["side"] < 0].sum()
        out[i] = [(buy - sell) / (buy + sell) if buy + sell else np.nan, buy - sell, len(w),
                  (w["price"] * w["size"]).sum() / w["size"].sum() if len(w) else np.nan]
    return out

@pytest.mark.parametrize("window", ["3s", 25])
@pytest.mark.parametrize("by_row", [True, False])
def test_trade_flow_and_vwap(window, by_row):
    lob = simulate_lob(3_000, levels=2, seed=11)
    if not by_row: lob = LobData(lob.book, lob.trades.drop(columns="event_row"), None, lob.meta)
    f = trade_flow(lob, window)
    ref = trade_flow_reference(lob, window)
    label = f"{pd.Timedelta(window).total_seconds():g}s" if isinstance(window, str) else f"{window}ev"
    per = pd.Timedelta(window).total_seconds() if isinstance(window, str) else window
    np.testing.assert_allclose(f[f"trade_imbalance_{label}"], ref[:, 0], rtol=1e-12)
    np.testing.assert_allclose(f[f"signed_volume_{label}"], ref[:, 1])
    np.testing.assert_allclose(f[f"trade_intensity_{label}"], ref[:, 2] / per, rtol=1e-12)
    mid = mid_price(lob.book)
    np.testing.assert_allclose(vwap_distance(lob, window), (mid - ref[:, 3]) / TICK, rtol=1e-9, atol=1e-9)
    assert np.isnan(ref[:, 0]).any() and np.isfinite(ref[:, 0]).any()

def test_trades_after_cutting_the_book():
    # `between` re-numbers the trades' event_row on the cut book; a link left on the uncut book fails the time
    # check and trades go by time: both give the features of the re-numbered links
    lob = simulate_lob(3_000, levels=2, seed=12)
    cut = lob.between(lob.book.index[1000], None)
    tr = lob.trades[lob.trades["event_row"] >= 1000]
    np.testing.assert_array_equal(cut.trades["event_row"].to_numpy(), tr["event_row"].to_numpy() - 1000)
    f = trade_flow(cut, 25)
    stale = LobData(cut.book, tr, None, cut.meta)
    pd.testing.assert_frame_equal(f, trade_flow(stale, 25))

def test_time_of_day_across_dst():
    for tz in ("America/New_York", "Europe/London", "Australia/Sydney", "UTC"):
        idx = pd.DatetimeIndex(np.sort(np.random.default_rng(0).integers(
            pd.Timestamp("2021-01-01").value, pd.Timestamp("2024-12-31").value, 20_000)), tz="UTC").tz_convert(tz)
        utc = idx.as_unit("ns").asi8
        rows, offsets = _utc_offsets(idx, utc)
        local = utc + np.repeat(offsets, np.diff(np.append(rows, len(utc))))
        np.testing.assert_array_equal(local, idx.tz_localize(None).as_unit("ns").asi8)
    idx = pd.date_range("2024-03-10 01:00", "2024-03-10 04:00", freq="7min", tz="America/New_York")
    book = make_book([BASE] * len(idx)).set_axis(idx)
    f = time_of_day(book)
    sec = (idx.tz_localize(None) - idx.tz_localize(None).normalize()).total_seconds().to_numpy()
    np.testing.assert_array_equal(f["tod_seconds"], sec)
    np.testing.assert_allclose(f["tod_sin"], np.sin(2 * np.pi * sec / 86_400), atol=1e-15)
    np.testing.assert_allclose(f["tod_cos"], np.cos(2 * np.pi * sec / 86_400), atol=1e-15)
    naive = time_of_day(book.set_axis(idx.tz_localize(None)))
    pd.testing.assert_frame_equal(naive.set_axis(f.index), f)

# %% feature_set
def test_feature_set_spec_forms(sim):
    spec = {"ofi": {"levels": [1, 2, 3]}, "queue_imbalance": {}, "depth_imbalance": {"levels": [5, 2]},
            "log_returns": {"horizons": [1, 10, 100]}}
    f = feature_set(sim, spec)
    assert list(f.columns) == ["ofi_1", "ofi_2", "ofi_3", "qi_1", "depth_imb_2", "depth_imb_5", "logret_1", "logret_10", "logret_100"]
    pd.testing.assert_frame_equal(f[["ofi_1", "ofi_2", "ofi_3"]], multilevel_ofi(sim.book, 3))
    g = feature_set(sim, ["mid_price", ("ofi", {"levels": [1]}), ("ofi", {"levels": [4, 5]}), ("trade_flow", {"window": "1s"}),
                          ("trade_flow", {"window": 10}), ("queue_imbalance", {"level": 2})])
    assert list(g.columns[:4]) == ["mid", "ofi_1", "ofi_4", "ofi_5"]
    pd.testing.assert_frame_equal(g[["ofi_4", "ofi_5"]], multilevel_ofi(sim.book, [4, 5]))
    assert "trade_imbalance_1s" in g and "trade_imbalance_10ev" in g
    np.testing.assert_array_equal(g["qi_2"], queue_imbalance(sim.book, 2))

def test_feature_set_standard_sets(sim):
    f10, f1 = feature_set(sim, {**LEVEL10_SET, "ofi": {"levels": 5}, "depth_imbalance": {"levels": [3, 5]},
                                "weighted_depth": {"levels": 5}, "book_slope": {"levels": 5}}), feature_set(sim, LEVEL1_SET)
    shared = [c for c in f1.columns if c in f10.columns]
    assert len(shared) == f1.shape[1]
    pd.testing.assert_frame_equal(f10[shared], f1)
    assert f10.index is sim.book.index and f10.notna().mean().min() > 0.9

def test_errors(sim):
    with pytest.raises(MicrosigError, match="unknown feature 'ofii'.*queue_imbalance"):
        feature_set(sim, {"ofii": {}})
    with pytest.raises(MicrosigError, match="has no parameter 'level'"):
        feature_set(sim, {"ofi": {"level": 2}})
    with pytest.raises(MicrosigError, match="'ask_px_6'"):
        multilevel_ofi(sim.book, 6)
    with pytest.raises(MicrosigError, match="'ask_px_1'"):
        queue_imbalance(sim.book.drop(columns="ask_px_1"))
    with pytest.raises(MicrosigError, match="'bid_px_3'"):
        depth_imbalance(sim.book.drop(columns="bid_px_3"), 4)
    with pytest.raises(MicrosigError, match="tick_size"):
        weighted_depth(sim.book, 3)
    with pytest.raises(MicrosigError, match="tick_size"):
        spread(sim.book, unit="ticks")
    with pytest.raises(MicrosigError, match="more than once"):
        feature_set(sim, ["mid_price", "mid_price"])
    with pytest.raises(MicrosigError, match="DatetimeIndex"):
        time_of_day(sim.book.reset_index(drop=True))
    with pytest.raises(MicrosigError, match="ambiguous"):
        trade_flow(sim, 1.5)
    with pytest.raises(MicrosigError, match="levels must be"):
        multilevel_ofi(sim.book, 0)
    with pytest.raises(MicrosigError, match="'size'"):
        trade_flow(LobData(sim.book, sim.trades.drop(columns="size"), None, sim.meta))
    with pytest.raises(MicrosigError, match="LobData"):
        feature_set(sim.book, LEVEL1_SET)

# %% edge cases
ALL_SPEC = {"ofi": {"levels": 2}, "queue_imbalance": {"level": 2}, "depth_imbalance": {"levels": [1, 2]},
            "depth_profile": {"levels": 2}, "weighted_depth": {"levels": 2, "decay": 0.3}, "book_slope": {"levels": 2},
            "mid_price": {}, "spread": {"unit": "bps"}, "weighted_mid": {}, "log_returns": {"horizons": [1, 3]},
            "realized_volatility": {"window": 4}, "trade_flow": {"window": "2s"}, "vwap_distance": {"window": 3},
            "time_of_day": {}}

def test_all_spec_covers_every_feature():
    assert set(ALL_SPEC) == set(FEATURES)

def test_one_row_and_empty_books():
    lob = simulate_lob(1, levels=2, seed=0)
    f = feature_set(lob, ALL_SPEC)
    assert f.shape == (1, 27) and f["ofi_1"].iloc[0] == 0 and np.isnan(f["rv_4"].iloc[0]) and np.isnan(f["logret_1"].iloc[0])
    empty = LobData(lob.book.iloc[:0], lob.trades.iloc[:0], None, lob.meta)
    g = feature_set(empty, ALL_SPEC)
    assert g.shape == (0, 27) and list(g.columns) == list(f.columns)

def test_all_nan_book():
    b = make_book([(np.nan, 0, np.nan, 0, np.nan, 0, np.nan, 0)] * 3, levels=2)
    f = feature_set(make_lob(b), {k: v for k, v in ALL_SPEC.items() if k not in ("trade_flow", "vwap_distance")})
    assert (f[["ofi_1", "ofi_2"]] == 0).all().all() and (f[["depth_bid_1", "depth_ask_2"]] == 0).all().all()
    nan_cols = ["qi_2", "depth_imb_1", "wdepth_bid", "wdepth_imb", "slope_bid", "mid", "spread_bps", "wmid", "logret_1"]
    assert f[nan_cols].isna().all().all()
    assert (f["rv_4"].isna()).all()  # window not yet full

# %% causality: every output at row t is unchanged when everything after t changes
def perturb_after(lob, t, seed, by_row):
    "A copy of `lob` whose book rows, timestamps and trades after row t are replaced by random ones."
    rng = np.random.default_rng(seed)
    book = lob.book.copy()
    n, later = len(book), len(book) - t - 1
    if later:
        vals = book.to_numpy().copy()
        vals[t+1:, 0::2] = np.round(rng.uniform(99, 101, (later, vals.shape[1] // 2)), 2)
        vals[t+1:, 1::2] = rng.integers(0, 900, (later, vals.shape[1] // 2))
        holes = rng.random((later, vals.shape[1] // 2)) < 0.2
        vals[t+1:, 0::2][holes] = np.nan
        ns = book.index.as_unit("ns").asi8.copy()
        ns[t+1:] = ns[t] + np.cumsum(rng.integers(0, 3 * 10**9, later))
        idx = pd.DatetimeIndex(ns.view("M8[ns]"), name="time").tz_localize("UTC").tz_convert(book.index.tz)
        book = pd.DataFrame(vals, index=idx, columns=book.columns)
    tr = lob.trades
    if by_row:
        keep = tr[tr["event_row"] <= t]
        rows = np.sort(rng.integers(t + 1, n, rng.integers(0, 6))) if later else np.zeros(0, int)
        new = pd.DataFrame({"price": rng.uniform(99, 101, rows.size), "size": rng.integers(1, 500, rows.size),
                            "side": rng.choice([-1, 0, 1], rows.size), "event_row": rows}, index=book.index[rows])
    else:
        cut = book.index[t]
        keep = tr[tr.index <= cut]
        times = np.sort(rng.integers(cut.value + 1, cut.value + 10**10, rng.integers(0, 6)))
        new = pd.DataFrame({"price": rng.uniform(99, 101, times.size), "size": rng.integers(1, 500, times.size),
                            "side": rng.choice([-1, 0, 1], times.size)},
                           index=pd.DatetimeIndex(times.view("M8[ns]")).tz_localize("UTC").tz_convert(book.index.tz))
    trades = pd.concat([keep[["price", "size", "side"] + (["event_row"] if by_row else [])], new])
    trades.index.name = "time"
    return LobData(book, trades, None, lob.meta)

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 40), levels=st.integers(2, 3), seed=st.integers(0, 10**6), t_frac=st.floats(0, 1),
       holes=st.floats(0, 0.4), by_row=st.booleans())
def test_causality_of_every_feature(n, levels, seed, t_frac, holes, by_row):
    lob = simulate_lob(n, levels=levels, seed=seed)
    # without holes the simulator's row-major book is read in place; with_holes copies it into a column-stored frame
    book = lob.book if holes < 0.1 else with_holes(lob.book, seed, holes)
    lob = LobData(book, lob.trades if by_row else lob.trades.drop(columns="event_row"), None, lob.meta)
    t = min(int(t_frac * n), n - 1)
    before = feature_set(lob, ALL_SPEC)
    after = feature_set(perturb_after(lob, t, seed + 1, by_row), ALL_SPEC)
    np.testing.assert_array_equal(after.iloc[:t+1].to_numpy(), before.iloc[:t+1].to_numpy())
    if t < n - 1:  # the perturbation does reach the later rows
        assert not np.array_equal(after.iloc[t+1:].to_numpy(), before.iloc[t+1:].to_numpy(), equal_nan=True)
