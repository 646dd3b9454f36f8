"""Backtest engine tests beyond the chapter's: the null test over 10 seeds, many columns against single columns."""
import numpy as np, pandas as pd, pytest
from microsig.backtest import run_backtest, null_pipeline, performance

@pytest.mark.parametrize("seed", range(10))
def test_null_martingale_no_significant_profit(seed):
    r = null_pipeline(seed, signal=0.0)
    assert r["fills"] > 0
    assert r["psr"] < 0.95, r                                   # no significant after-cost profit on noise
    assert not r["flagged"] and r["label_share"] > 0.99, r      # nor a gross markout at the decision mid; every row labelled

def test_planted_signal_positive_gross_pnl():
    out = pd.DataFrame([null_pipeline(s, signal=0.6) for s in range(10)])
    assert (out["gross_pnl"] > 0).all(), out
    assert out["accuracy"].mean() > 0.52, out

def test_many_columns_equal_single_columns():
    rng = np.random.default_rng(5)
    n, m = 2000, 6
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    bars = pd.DataFrame({"open": np.r_[100, c[:-1]], "close": c}, index=pd.date_range("2024", periods=n, freq="5min"))
    pos = pd.DataFrame(np.sign(rng.normal(size=(n, m))) * (rng.random((n, m)) < 0.6), index=bars.index)
    fees = np.array([0, 1, 2, 5, 10, 20.0])
    many = run_backtest(bars, pos, fee_bps=fees)
    for j in range(m):
        one = run_backtest(bars, pos[j], fee_bps=fees[j])
        np.testing.assert_array_equal(many.equity[j].to_numpy(), one.equity.to_numpy())
        pd.testing.assert_frame_equal(many.trades.query("column == @j").reset_index(drop=True).drop(columns="column"),
                                      one.trades.drop(columns="column"))
    same = run_backtest(bars, pd.DataFrame({j: pos[0] for j in range(m)}), fee_bps=fees)
    assert (np.diff(same.equity.iloc[-1].to_numpy()) < 0).all()  # the same trades cost more with higher fees
    # 2-D bars (one instrument per column) give the same as running each instrument alone
    op = np.stack([bars["open"].to_numpy() * (1 + 0.01 * j) for j in range(m)], axis=1)
    two = run_backtest({"open": op, "close": op}, pos.to_numpy(), fee_bps=3)
    np.testing.assert_allclose(two.equity_, run_backtest({"open": op[:, :1], "close": op[:, :1]}, pos.to_numpy(), fee_bps=3).equity_, rtol=1e-12)
    perf = performance(many, 288 * 365, n_boot=0)
    assert list(perf.columns) == list(range(m)) and (perf.loc["n_trades"] > 0).all()

def test_passive_timeout_bounds_the_wait():
    from microsig.backtest import run_book_backtest
    from microsig.data import simulate_lob
    lob = simulate_lob(20_000, levels=5, seed=3, mode="martingale")
    rng = np.random.default_rng(3)
    pos = np.repeat(rng.choice([-1.0, 0.0, 1.0], size=40), 500)[: len(lob.book)]   # a new decision every 500 events
    t = lob.book.index
    gap = pd.Series(t).diff().max()
    free = run_book_backtest(lob, pos, size=100, order="limit")
    wait_free = (free.fills["time"] - free.fills["decision_time"]).max()
    to = pd.Timedelta("5s")
    assert wait_free > to + gap                                                  # without a time-out some fills come late
    capped = run_book_backtest(lob, pos, size=100, order="limit", timeout="5s")
    maker = capped.fills[capped.fills["liquidity"] == "maker"]
    assert len(maker) > 0 and capped.params["expired"] > 0
    # arrival is the next row at 0 latency: no passive fill comes later than the time-out after it
    assert ((maker["time"] - maker["decision_time"]) <= to + gap).all()
    assert len(capped.fills) <= len(free.fills) + 1 and capped.params["timeout"] == "5s"
