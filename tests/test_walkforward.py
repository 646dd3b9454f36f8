"Walk-forward (09_walkforward) at a small size: Dask parity, no look-ahead, bars and books end to end."
import numpy as np, pandas as pd, pytest
from microsig.data import simulate_lob, MicrosigError
from microsig.labels import build_dataset, dataset_book
from microsig.walkforward import walk_forward, walk_forward_plan, wf_data, wf_backtest, segment_performance, regime_breakdown

PRED_COLS = ["pos", "segment", "y", "p_0", "p_1", "p_2", "ev_bps", "position", "ret_bps", "cost_bps", "regime"]


@pytest.fixture(scope="module")
def lob():
    return simulate_lob(20_000, levels=10, seed=3, mode="martingale", signal=0.6)


@pytest.fixture(scope="module")
def book(lob):
    return build_dataset(lob, horizons=(10,))


@pytest.fixture(scope="module")
def bars():
    rng = np.random.default_rng(0)
    n = 6_000
    c = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    o = np.r_[c[0], c[:-1]]
    b = pd.DataFrame({"open": o, "high": np.maximum(o, c) * 1.0005, "low": np.minimum(o, c) * 0.9995, "close": c,
                      "volume": rng.uniform(1, 2, n)}, index=pd.date_range("2022-01-01", periods=n, freq="5min", tz="UTC"))
    return build_dataset(b, horizons=(1, 12))


def _tiny(ds, info, **kw):
    return walk_forward(ds.iloc[:12_000], info, model="xgb", model_params={"n_estimators": 20}, train=5_000, test=2_000,
                        embargo=10, log=None, **kw)


def test_dask_matches_sequential(book):
    ds, info = book
    seq = _tiny(ds, info)
    par = _tiny(ds, info, workers=2)               # a LocalCluster of two processes on 127.0.0.1
    assert len(seq["segments"]) == 3
    pd.testing.assert_frame_equal(seq["predictions"], par["predictions"])
    pd.testing.assert_frame_equal(seq["segments"].drop(columns="fit_s"), par["segments"].drop(columns="fit_s"))
    pd.testing.assert_frame_equal(seq["importance"], par["importance"])


def test_no_look_ahead(book):
    ds, info = book
    d = wf_data(ds.iloc[:12_000], info)
    for s in walk_forward_plan(ds.index[:12_000], 5_000, 2_000, None, 10, False, d["end"]):
        assert d["end"][s["train"]].max() < s["test"][0]          # no training label span reaches a test row
    base = _tiny(ds, info)
    cut = int(base["segments"]["test_end"].iloc[0]) + 1
    noisy = ds.copy()
    cols = info["features"] + [c for c in ds.columns if c.startswith(("l_", "ret_", "move"))]
    rng = np.random.default_rng(7)                      # shuffle each column after the cut: same values, scrambled in time
    for c in cols: noisy.iloc[cut:, ds.columns.get_loc(c)] = rng.permutation(ds[c].to_numpy()[cut:])
    alt = _tiny(noisy, info)
    a, b = base["predictions"], alt["predictions"]
    first = a["pos"] < cut
    keep = [c for c in PRED_COLS if c.startswith("p_")] + ["ev_bps", "position"]
    pd.testing.assert_frame_equal(a.loc[first, keep], b.loc[first, keep])     # segment 0 never saw rows after its test window
    assert not np.allclose(a.loc[~first, "p_0"], b.loc[~first, "p_0"])       # segments that trained on them did


def test_expanding_and_time_windows(book):
    ds, info = book
    e = walk_forward(ds.iloc[:12_000], info, model="logistic", train=5_000, test=2_000, expanding=True, log=None)
    assert (e["segments"]["train_start"] == 0).all() and e["segments"]["n_fit"].is_monotonic_increasing
    span = ds.index[11_999] - ds.index[0]
    t = walk_forward(ds.iloc[:12_000], info, model="logistic", train=span * 0.4, test=span * 0.2, log=None)
    assert len(t["segments"]) >= 3
    assert (t["segments"]["t_start"].diff().dropna() > pd.Timedelta(0)).all()
    with pytest.raises(MicrosigError, match="all be rows or all durations"):
        walk_forward(ds, info, train=5_000, test="5min", log=None)


def test_books_and_bars_end_to_end(book, bars, lob):
    for (ds, info), kw in ((book, dict(train=6_000, test=2_000, model="logistic")),
                           (bars, dict(train=2_000, test=1_000, model="logistic", fee_bps=10.0))):
        wf = walk_forward(ds, info, log=None, **kw)
        ex = dataset_book(lob, ds, info) if info["kind"] == "book" else None
        bt = wf_backtest(ds, info, wf["predictions"], fee_bps=kw.get("fee_bps", 0.0), n_boot=0, book=ex)
        sp = segment_performance(wf["segments"], bt)
        assert len(sp) == len(wf["segments"]) and np.isfinite(bt["perf"]["sharpe"]) and 0 <= bt["perf"]["psr"] <= 1
        assert set(bt["equity"].columns) == {"walk-forward", "buy and hold"}
        rg = regime_breakdown(wf["predictions"], bt)
        assert rg["rows"].sum() == len(wf["predictions"])
    # the planted signal is found out of sample on the book; on the random-walk bars there is nothing to find
    wb = walk_forward(book[0], book[1], train=6_000, test=2_000, model="logistic", log=None)
    assert wb["segments"]["ic"].mean() > 0.05
    wr = walk_forward(bars[0], bars[1], train=2_000, test=1_000, model="logistic", log=None)
    assert abs(wr["segments"]["ic"].mean()) < 0.1


def test_book_execution_uses_the_execution_book(book, lob):
    "Orders walk the execution book (all the depth, the trades), not the dataset's feature columns."
    ds, info = book
    wf = walk_forward(ds.iloc[:10_000], info, model="logistic", train=5_000, test=2_000, log=None)
    with pytest.raises(MicrosigError, match="dataset_book"):
        wf_backtest(ds, info, wf["predictions"], n_boot=0)                     # no silent fallback to the feature levels
    ex = dataset_book(lob, ds, info)
    base = wf_backtest(ds, info, wf["predictions"], n_boot=0, book=ex, size=50)
    # planted: the execution book's best ask and bid 1 tick worse on every row: every fill must get worse
    worse = ex.book.copy()
    worse["ask_px_1"] += 0.01; worse["bid_px_1"] -= 0.01
    from microsig.data import LobData
    bt = wf_backtest(ds, info, wf["predictions"], n_boot=0, book=LobData(worse, ex.trades, ex.events, ex.meta), size=50)
    assert bt["perf"]["n_trades"] == base["perf"]["n_trades"] > 0
    assert bt["equity"]["walk-forward"].iloc[-1] < base["equity"]["walk-forward"].iloc[-1]
    with pytest.raises(MicrosigError, match="rows"):
        wf_backtest(ds, info, wf["predictions"], n_boot=0, book=ex.take(np.arange(100)))
