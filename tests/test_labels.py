"""Tests for labels: hand-computed cases, no filled tails, clock horizons on irregular times, triple barrier and
meta-labels, AFML uniqueness, train-only fitting, and that labels look only at prices in [t, t+h]."""
import numpy as np, pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from microsig.data import MicrosigError, data_dir, load_lobster, load_ohlcv
from microsig.labels import (class_balance, class_weights, cost_alpha, direction_label, fit_alpha, fit_regimes, forward_return,
                    half_spread, label_end, label_uniqueness, realised_vol, regime, regime_table, relative_spread,
                    sample_weights, smoothed_label, ternary_label, top_depth, triple_barrier, _clock_end_nb)

def secs(*s):
    "A UTC DatetimeIndex at the given seconds after 2024-01-02 09:30."
    return pd.DatetimeIndex(pd.Timestamp("2024-01-02 09:30", tz="UTC") + pd.to_timedelta(s, unit="s"), name="time")

def same(a, b):
    "Equal as floats, NaN equal to NaN."
    return np.array_equal(np.asarray(a, float), np.asarray(b, float), equal_nan=True)

# ------------------------------------------------------------------------------------------------ forward returns
P4 = pd.Series([100.0, 101.0, 99.0, 102.0])

def test_forward_return_by_hand():
    assert np.allclose(forward_return(P4, 1), [100.0, (99/101 - 1)*1e4, (102/99 - 1)*1e4, np.nan], equal_nan=True)
    assert np.allclose(forward_return(P4, 2, "log"), [np.log(.99), np.log(102/101), np.nan, np.nan], equal_nan=True)
    assert np.allclose(forward_return(P4, 1, "ticks", tick_size=0.5), [2, -4, 6, np.nan], equal_nan=True)

@pytest.mark.parametrize("h", [1, 2, 3, 7])
def test_last_h_rows_are_nan_never_filled(h):
    p = pd.Series(np.linspace(100, 110, 12))
    for y in (forward_return(p, h), direction_label(p, h, zero="down"), ternary_label(p, h, alpha=1e-4),
              smoothed_label(p, h, 1e-4)["l"], smoothed_label(p, h, 1e-4, "lobcast")["label"], label_end(p.index, h)):
        assert y.iloc[-h:].isna().all() and y.iloc[h:-h].notna().all()

def test_clock_horizon_on_irregular_times():
    # times 0, 1, 1.5, 4, 10 s; h = 2 s: the price at the last row at or before t + 2 s
    p = pd.Series([100.0, 101.0, 99.0, 102.0, 103.0], index=secs(0, 1, 1.5, 4, 10))
    r = forward_return(p, "2s")
    assert np.allclose(r, [(99/100 - 1)*1e4, (99/101 - 1)*1e4, 0, 0, np.nan], equal_nan=True)
    assert list(label_end(p.index, "2s")) == [p.index[2], p.index[2], p.index[2], p.index[3], pd.NaT]
    # t + h exactly on a later row counts that row; a horizon ending after the last row is unknown, not stale
    assert np.allclose(forward_return(p, "6s"), [(102/100 - 1)*1e4, (102/101 - 1)*1e4, (102/99 - 1)*1e4, (103/102 - 1)*1e4, np.nan], equal_nan=True)
    assert forward_return(p, "9s").isna().tolist() == [False, False, True, True, True]

def test_clock_horizon_with_repeated_timestamps():
    p = pd.Series([10.0, 11.0, 12.0, 13.0], index=secs(0, 0, 0, 1))
    # all three rows at t=0 see the last book at or before 1 s
    assert np.allclose(forward_return(p, "1s", "ticks", tick_size=1), [3, 2, 1, np.nan], equal_nan=True)
    # within the same timestamp the later rows are still after t in event time
    assert np.allclose(forward_return(p, "500ms", "ticks", tick_size=1), [2, 1, 0, np.nan], equal_nan=True)

@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=40), st.integers(-60, 60))
def test_clock_kernel_matches_searchsorted(gaps, h):
    t = np.cumsum(np.array(gaps, dtype=np.int64))
    assert (_clock_end_nb(t, h) == np.searchsorted(t, t + h, side="right") - 1).all()

def test_mid_rounding_is_no_move():
    # the same mid from two quote pairs differs in the last bit; that is not a price change
    a, b = (560.14 + 560.06) / 2, (560.11 + 560.09) / 2
    assert a != b
    p = pd.Series([a, b, b + 0.01])
    assert forward_return(p, 1).iloc[0] == 0 and forward_return(p, 1, "ticks", tick_size=0.01).iloc[0] == 0
    assert same(direction_label(p, 1), [np.nan, 1, np.nan])
    assert smoothed_label(pd.Series([a, b, a]), 1, 1e-4)["l"].iloc[0] == 0
    assert triple_barrier(p, vol=0.01, vertical=1)["label"].iloc[0] == 0

# ------------------------------------------------------------------------------------------------ classes
def test_direction_label_zero_change():
    p = pd.Series([10.0, 10.0, 11.0, 10.5, 10.5])
    assert same(direction_label(p, 1), [np.nan, 1, -1, np.nan, np.nan])
    assert same(direction_label(p, 1, zero="down"), [-1, 1, -1, -1, np.nan])
    assert same(direction_label(p, 2, zero="up"), [1, 1, -1, np.nan, np.nan])

def test_ternary_fixed_uses_weak_inequalities():
    p = pd.Series([100.0, 100.2, 100.0, 99.8, 99.9])
    # returns 0.2%, -0.1996%, -0.2%, +0.1002%: alpha = 0.002 labels a move of exactly alpha
    assert same(ternary_label(p, 1, alpha=0.002), [1, 0, -1, 0, np.nan])

def test_ternary_cost_alpha_from_spread_and_fee():
    mid = pd.Series([100.0, 100.03, 100.04, 100.0])  # moves of +3, +1 and -4 bps
    book = pd.DataFrame({"ask_px_1": mid + 0.01, "ask_sz_1": 1.0, "bid_px_1": mid - 0.01, "bid_sz_1": 1.0})
    assert np.allclose(half_spread(book), 0.01)
    assert np.allclose(cost_alpha(mid, half_spread(book)), 0.02 / mid)   # two legs: one full spread, ~2 bps
    assert same(ternary_label(mid, 1, kind="cost", half_spread=half_spread(book)), [1, 0, -1, np.nan])
    # 1.5 bps fee per leg on top: ~5 bps in all, every move is stationary
    assert np.allclose(cost_alpha(mid, 0.01, fee_bps=1.5), 0.02 / mid + 3e-4)
    assert same(ternary_label(mid, 1, kind="cost", half_spread=0.01, fee_bps=1.5), [0, 0, 0, np.nan])
    assert same(ternary_label(mid, 1, kind="cost", fee_bps=0.5, legs=1), [1, 1, -1, np.nan])

def test_fit_alpha_on_a_tick_grid():
    # |r| = 0 (x4), 1 (x4), 2 (x4): the 1/3 quantile is 0, a useless alpha; the closest achievable share wins
    r = np.repeat([0.0, 1.0, 2.0], 4) * np.tile([1, -1], 6)
    assert fit_alpha(r) == 1.0                        # stationary {0}: 1/3 exactly
    assert fit_alpha(r, stationary=0.6) == 2.0        # stationary {0, 1}: 2/3, nearest to 0.6
    with pytest.raises(MicrosigError, match="no non-zero"): fit_alpha(np.zeros(5))

def test_adaptive_alpha_sees_the_training_span_only():
    rng = np.random.default_rng(0)
    p = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 400))), index=secs(*np.arange(400.0)))
    span = (p.index[100], p.index[300])
    y = ternary_label(p, 5, kind="adaptive", fit_span=span)
    train = y.iloc[100:295]                           # labels whose [t, t+5] lies in the span
    assert abs((train == 0).mean() - 1/3) < 0.02
    # prices outside the span, even the ones just after its end, do not move alpha
    q = p.copy()
    q.iloc[:100] *= 1.5; q.iloc[300:] *= rng.uniform(0.9, 1.1, 100)
    assert ternary_label(q, 5, kind="adaptive", fit_span=span).attrs["alpha"] == y.attrs["alpha"]
    q.iloc[299] *= 1.01                               # inside the span: it may
    assert ternary_label(q, 5, kind="adaptive", fit_span=span).attrs["alpha"] != y.attrs["alpha"]

def test_adaptive_alpha_with_a_mask_never_bridges_its_holes():
    p = pd.Series([100.0, 101, 102, 200, 110, 111, 112])
    hole = np.array([1, 1, 1, 0, 1, 1, 1], bool)
    y = ternary_label(p, 1, kind="adaptive", fit_span=hole, stationary=0.79)
    # training returns: 100->101->102 and 110->111->112; the 102->110 across the hole would make alpha 8/102
    assert y.attrs["alpha"] == pytest.approx(fit_alpha([1/100, 1/101, 1/110, 1/111], 0.79)) == pytest.approx(0.01)

# ------------------------------------------------------------------------------------------------ smoothed labels
MID5 = pd.Series([10.0, 11.0, 12.0, 13.0, 14.0])

def test_smoothed_fi2010_by_hand():
    out = smoothed_label(MID5, 2, alpha=0.13)
    assert np.allclose(out["l"], [(11.5 - 10)/10, (12.5 - 11)/11, (13.5 - 12)/12, np.nan, np.nan], equal_nan=True)
    assert same(out["label"], [1, 1, 0, np.nan, np.nan])   # 0.15, 0.136, 0.125 against 0.13

def test_smoothed_lobcast_by_hand():
    # m-(t) = mean of p_{t-1}, p_t (t included); m+(t) = mean of p_{t+1}, p_{t+2}
    out = smoothed_label(MID5, 2, alpha=0.18, variant="lobcast")
    assert np.allclose(out["l"], [np.nan, 12.5/10.5 - 1, 13.5/11.5 - 1, np.nan, np.nan], equal_nan=True)
    assert same(out["label"], [np.nan, 1, 0, np.nan, np.nan])
    down = smoothed_label(MID5[::-1].reset_index(drop=True), 2, alpha=0.1, variant="lobcast")
    assert same(down["label"], [np.nan, -1, -1, np.nan, np.nan])

def test_smoothed_clock_time():
    p = pd.Series([10.0, 11.0, 12.0, 13.0, 14.0], index=secs(0, 1, 1.5, 4, 10))
    out = smoothed_label(p, "2s", alpha=0.01)
    # (t, t+2s]: row 0 -> rows 1, 2; row 1 -> row 2; row 2 -> none (mid unchanged); row 3 -> none; row 4: past the data
    assert np.allclose(out["l"], [11.5/10 - 1, 12/11 - 1, 0, 0, np.nan], equal_nan=True)
    lc = smoothed_label(p, "2s", alpha=0.01, variant="lobcast")
    # (t-2s, t] is complete from t = 2s on; row 3 (4s): m- = 13 (only row 3), m+ = 13
    assert np.allclose(lc["l"], [np.nan, np.nan, np.nan, 0, np.nan], equal_nan=True)

def test_smoothed_label_per_row_alpha():
    a = pd.Series([0.2, 0.1, 0.1, 0.1, 0.1])
    assert same(smoothed_label(MID5, 2, alpha=a)["label"], [0, 1, 1, np.nan, np.nan])

# ------------------------------------------------------------------------------------------------ triple barrier
# p: 100 101 103 99 97 100 100.5 101, sigma fixed at 2%: barriers at +-2% of each event's price, vertical 3 rows
TB = pd.Series([100.0, 101.0, 103.0, 99.0, 97.0, 100.0, 100.5, 101.0], index=secs(*range(8)))

def test_triple_barrier_each_barrier_by_hand():
    out = triple_barrier(TB, vol=0.02, vertical=3)
    # event 0: 101 (+1%), 103 (+3%): profit barrier at row 2
    assert out.iloc[0][["ret", "label", "barrier"]].tolist() == [pytest.approx(0.03), 1.0, "pt"]
    assert out["t1"].iloc[0] == TB.index[2]
    # event 1 (101): 103 (+1.98%), 99 (-1.98%), 97 (-3.96%): stop-loss at row 4
    assert out.iloc[1][["label", "barrier"]].tolist() == [-1.0, "sl"] and out["t1"].iloc[1] == TB.index[4]
    # vertical barrier 3 rows on: events 5..7 have no full horizon
    assert out["label"].iloc[5:].isna().all() and out["t1"].iloc[5:].isna().all()

def test_triple_barrier_vertical_sign_or_zero():
    p = pd.Series([100.0, 100.5, 101.0, 100.8, 101.2])
    out = triple_barrier(p, vol=0.05, vertical=3)
    assert out.iloc[0][["ret", "label", "barrier"]].tolist() == [pytest.approx(0.008), 1.0, "vertical"]
    assert out["t1"].iloc[0] == 3 and out["label"].iloc[2:].isna().all()
    z = triple_barrier(p, vol=0.05, vertical=3, vertical_label="zero")
    assert z["label"].iloc[0] == 0 and z["ret"].iloc[0] == pytest.approx(0.008)

def test_triple_barrier_clock_vertical_and_disabled_barriers():
    p = pd.Series([100.0, 100.5, 103.0, 96.0, 100.0], index=secs(0, 1, 2.5, 3, 10))
    out = triple_barrier(p, vol=0.02, vertical="2s")
    # event 0 sees rows in (0, 2s] only: 100.5, so the vertical barrier at row 1
    assert out.iloc[0][["barrier", "label"]].tolist() == ["vertical", 1.0] and out["t1"].iloc[0] == p.index[1]
    assert out["barrier"].iloc[1] == "pt"
    no_pt = triple_barrier(p, pt=0, vol=0.02, vertical="2s")
    assert no_pt["barrier"].iloc[1] == "sl" and no_pt["t1"].iloc[1] == p.index[3]

def test_meta_labels():
    out = triple_barrier(TB, vol=0.02, vertical=3, side=pd.Series([1, -1, -1, 1, -1, 1, 1, 1.0], index=TB.index))
    # a long into a rise and shorts into falls reach their profit barrier -> 1; a long into a fall and a short into
    # a rise (97 -> 100) are stopped out -> 0
    assert out["barrier"].tolist()[:5] == ["pt", "pt", "pt", "sl", "sl"]
    assert out["t1"].iloc[1] == TB.index[4] and out["t1"].iloc[4] == TB.index[5]
    assert same(out["meta"], [1, 1, 1, 0, 0, np.nan, np.nan, np.nan])
    assert same(out["label"].iloc[:5], [1, -1, -1, -1, 1])   # label stays the sign of the price move
    # asymmetric barriers move with the side: a short's profit barrier is below
    short = triple_barrier(TB, pt=2.0, sl=0.5, vol=0.02, vertical=3, side=-1)
    assert short["barrier"].iloc[0] == "sl" and short["t1"].iloc[0] == TB.index[1]

def test_meta_labels_at_the_vertical_barrier():
    p = pd.Series([100.0, 100.5, 101.0, 100.8, 100.0])
    # rows 0 -> 3: +0.8%, rows 1 -> 4: -0.5%, both inside +-5%: the vertical barrier decides
    assert same(triple_barrier(p, vol=0.05, vertical=3, side=[1, 1, 1, 1, 1])["meta"], [1, 0, np.nan, np.nan, np.nan])
    assert same(triple_barrier(p, vol=0.05, vertical=3, side=-1)["meta"], [0, 1, np.nan, np.nan, np.nan])
    assert same(triple_barrier(p, vol=0.05, vertical=3, side=1, vertical_label="zero")["meta"].iloc[:2], [0, 0])

def test_events_subset_and_default_vol_is_causal():
    rng = np.random.default_rng(1)
    p = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 1e-3, 600))), index=secs(*np.arange(600.0)))
    ev = np.zeros(600, bool); ev[::50] = True
    out = triple_barrier(p, events=ev, vertical=20, vol_span=50)
    assert (out.index == p.index[::50]).all() and out["vol"].iloc[:2].isna().all() and out["vol"].iloc[2:].notna().all()
    assert triple_barrier(p, events=p.index[::50], vertical=20, vol_span=50).equals(out)
    # sigma at t0 is an EWM of past 20-row returns: changing prices after t0 leaves it alone
    q = p.copy(); q.iloc[301:] *= 1.2
    assert triple_barrier(q, events=ev, vertical=20, vol_span=50)["vol"].iloc[:7].equals(out["vol"].iloc[:7])
    r = p.pct_change(20)
    assert out["vol"].iloc[6] == pytest.approx(r.ewm(span=50, min_periods=50).std().iloc[300])

def _first_touch_reference(p, i, end, up, lo, side):
    for j in range(i + 1, end + 1):
        r = side * (p[j] / p[i] - 1)
        if r >= up: return j, "pt"
        if r <= -lo: return j, "sl"
    return end, "vertical"

@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-0.01, 0.01), min_size=10, max_size=80), st.integers(1, 15),
       st.floats(0.2, 3), st.floats(0.2, 3), st.sampled_from([1, -1]))
def test_first_touch_kernel_matches_a_plain_loop(steps, h, pt, sl, side):
    p = pd.Series(100 * np.exp(np.cumsum(steps)))
    out = triple_barrier(p, pt=pt, sl=sl, vol=0.005, vertical=h, side=side)
    x = p.to_numpy()
    for i in range(len(p) - h):
        j, b = _first_touch_reference(x, i, i + h, pt * 0.005, sl * 0.005, side)
        assert out["t1"].iloc[i] == j and out["barrier"].iloc[i] == b

# ------------------------------------------------------------------------------------------------ weights
def test_uniqueness_worked_example():
    # three labels over rows 0..5: A = [0, 2], B = [1, 3], C = [2, 5] -> c_t = 1 2 3 2 1 1
    idx = pd.RangeIndex(6)
    u = label_uniqueness([0, 1, 2], [2, 3, 5], idx)
    assert np.allclose(u, [(1 + 1/2 + 1/3)/3, (1/2 + 1/3 + 1/2)/3, (1/3 + 1/2 + 1 + 1)/4])   # 11/18, 4/9, 17/24
    w = sample_weights([0, 1, 2], [2, 3, 5], idx)
    assert np.allclose(w, u / u.mean())

def test_uniqueness_on_times_and_missing_ends():
    idx = secs(*range(6))
    t1 = pd.Series([idx[2], idx[3], pd.NaT])
    u = label_uniqueness(idx[:3], t1, idx)
    # C has no end: it is no label, so A and B overlap on rows 1..2 only
    assert np.allclose(u, [(1 + 1/2 + 1/2)/3, (1/2 + 1/2 + 1)/3, np.nan], equal_nan=True)
    out = triple_barrier(TB, vol=0.02, vertical=3)
    assert label_uniqueness(out.index, out["t1"], TB.index).notna().sum() == 5

def test_return_attribution_weights():
    # log prices 0, a, a+b, a+b+c, ... with labels A = [0, 2], B = [1, 3]: c = 1 2 2 1
    lp = np.array([0.0, 0.02, -0.01, 0.03])
    w = sample_weights([0, 1], [2, 3], pd.RangeIndex(4), price=pd.Series(np.exp(lp)))
    wa = abs(0.02/2 + (-0.03)/2)                      # returns into rows 1, 2 (the one into row 0 precedes A)
    wb = abs(-0.03/2 + 0.04/1)
    assert np.allclose(w, np.array([wa, wb]) * 2 / (wa + wb))

def test_class_weights_and_balance():
    y = pd.Series([1, 1, 1, 0, -1, -1, np.nan])
    assert class_weights(y).to_dict() == {-1: 1.0, 0: 2.0, 1: pytest.approx(2/3)}
    assert (y.map(class_weights(y)).groupby(y).sum().round(9) == 2.0).all()   # each class carries n/K
    b = class_balance(y)
    assert b["n"] == 6 and b[["share_-1", "share_0", "share_1"]].tolist() == pytest.approx([1/3, 1/6, 1/2])

# ------------------------------------------------------------------------------------------------ regimes
def test_regime_edges_fitted_on_the_training_span_only():
    rng = np.random.default_rng(2)
    x = pd.Series(rng.lognormal(size=1000), index=secs(*np.arange(1000.0)))
    span = (x.index[200], x.index[600])
    m = fit_regimes(x, 3, fit_span=span)
    assert np.allclose(m.edges, np.quantile(x.iloc[200:600], [1/3, 2/3])) and m.n_fit == 400
    y = x.copy(); y.iloc[:200] = 1e6; y.iloc[600:] = -5.0
    assert np.array_equal(fit_regimes(y, 3, fit_span=span).edges, m.edges)
    r = regime(x, m)
    assert r.dtype == "Int64" and (r.iloc[200:600].value_counts(normalize=True).sort_index() - 1/3).abs().max() < 0.01
    with pytest.raises(TypeError): fit_regimes(x, 3)   # no default span: fitting on everything must be asked for
    assert np.array_equal(fit_regimes(x, 3, fit_span=np.arange(1000) < 400).edges, np.quantile(x.iloc[:400], [1/3, 2/3]))

def test_regime_assignment_and_table():
    s = pd.Series(np.arange(1.0, 13.0))
    m = fit_regimes(s, 3, fit_span=(0, 9))            # rows 0..8: values 1..9, edges 11/3 and 19/3
    assert regime(s, m).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2, 2]
    assert regime(pd.Series([np.nan, 100.0]), m).isna().tolist() == [True, False]
    y = pd.Series([1, 0, -1, 1, np.nan, 0, 1, 1, 0, -1, 1, 1.0])
    t = regime_table(y, regime(s, m), ret=pd.Series(np.arange(12.0)))
    assert t.index.tolist() == [0, 1, 2, "all"] and t["n"].tolist() == [3, 2, 6, 11]
    assert t.loc[1, ["share_-1", "share_0", "share_1"]].tolist() == [0, 0.5, 0.5]
    assert t.loc[1, "mean_ret"] == 4.0                # rows 3 and 5: row 4 has no label
    with pytest.raises(MicrosigError, match="repeat"): fit_regimes(pd.Series([1.0] * 8 + [2.0]), 3, fit_span=(0, 9))

def test_regime_features_are_causal():
    p = pd.Series(100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 1e-3, 50))), index=secs(*np.arange(50.0)))
    rv = realised_vol(p, 10)
    assert rv.iloc[:10].isna().all() and rv.iloc[10] == pytest.approx(np.sqrt((np.diff(np.log(p.iloc[:11])) ** 2).sum()))
    assert np.allclose(realised_vol(p, "10s"), rv, equal_nan=True)   # one row a second: the same window
    q = p.copy(); q.iloc[30:] *= 2
    assert realised_vol(q, 10).iloc[:30].equals(rv.iloc[:30])
    # a complete two-level book; the empty level 2 bid (price NaN) counts as size 0
    book = pd.DataFrame({"ask_px_1": [10.02], "ask_sz_1": [5.0], "bid_px_1": [9.98], "bid_sz_1": [7.0],
                         "ask_px_2": [10.03], "ask_sz_2": [1.0], "bid_px_2": [np.nan], "bid_sz_2": [0.0]})
    assert relative_spread(book).iloc[0] == pytest.approx(40.0) and top_depth(book, 2).iloc[0] == 13
    with pytest.raises(MicrosigError, match="level 3"): top_depth(book, 3)

# ------------------------------------------------------------------------------------------------ no look-ahead
def _all_labels(p, h):
    "Each label kind on p with horizon h, as name -> values."
    tb = triple_barrier(p, vol=0.003, vertical=h, side=1)
    return {"fwd": forward_return(p, h), "dir": direction_label(p, h), "ter": ternary_label(p, h, alpha=0.002),
            "fi": smoothed_label(p, h, 0.001)["l"], "lc": smoothed_label(p, h, 0.001, "lobcast")["l"],
            "tb": tb["label"], "tb_ret": tb["ret"], "meta": tb["meta"]}

paths = st.lists(st.floats(-0.005, 0.005), min_size=8, max_size=60)

@settings(max_examples=150, deadline=None)
@given(paths, st.integers(1, 6), st.data())
def test_label_at_t_ignores_prices_after_t_plus_h(steps, h, data):
    p = pd.Series(100 * np.exp(np.cumsum(steps)))
    t = data.draw(st.integers(0, len(p) - 1))
    q = p.copy()
    q.iloc[t + h + 1:] *= data.draw(st.floats(0.5, 2.0))
    a, b = _all_labels(p, h), _all_labels(q, h)
    for k in a: assert same(a[k].iloc[t], b[k].iloc[t]), k

@settings(max_examples=150, deadline=None)
@given(paths, st.integers(1, 6), st.data())
def test_label_at_t_ignores_prices_before_t(steps, h, data):
    p = pd.Series(100 * np.exp(np.cumsum(steps)))
    t = data.draw(st.integers(1, len(p) - 1))
    q = p.copy()
    q.iloc[:t] *= data.draw(st.floats(0.5, 2.0))
    a, b = _all_labels(p, h), _all_labels(q, h)
    # LOBCAST's m- averages the past by design, and the default triple-barrier sigma is causal, not forward
    for k in ("fwd", "dir", "ter", "fi", "tb", "tb_ret", "meta"): assert same(a[k].iloc[t], b[k].iloc[t]), k
    if t - h + 1 > 0:
        r = q.copy(); r.iloc[:t - h + 1] = p.iloc[:t - h + 1] * 3
        assert same(smoothed_label(r, h, 0.001, "lobcast")["l"].iloc[t], smoothed_label(q, h, 0.001, "lobcast")["l"].iloc[t])

@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.001, 3.0), min_size=8, max_size=50), paths, st.floats(0.5, 6.0), st.data())
def test_clock_labels_ignore_prices_after_t_plus_h(gaps, steps, h, data):
    n = min(len(gaps), len(steps))
    idx = secs(*np.cumsum(np.round(gaps[:n], 3)))
    p = pd.Series(100 * np.exp(np.cumsum(steps[:n])), index=idx)
    hs = f"{h:.3f}s"
    t = data.draw(st.integers(0, n - 1))
    q = p.copy()
    later = p.index > p.index[t] + pd.Timedelta(hs)
    q[later] *= data.draw(st.floats(0.5, 2.0))
    for f in (lambda x: forward_return(x, hs), lambda x: smoothed_label(x, hs, 0.001)["l"],
              lambda x: triple_barrier(x, vol=0.003, vertical=hs)["ret"]):
        assert same(f(p).iloc[t], f(q).iloc[t])
    earlier = p.index < p.index[t]
    q = p.copy(); q[earlier] *= 1.7
    assert same(forward_return(p, hs).iloc[t], forward_return(q, hs).iloc[t])

# ------------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("call, match", [
    (lambda: forward_return(P4, 0), "at least 1 row"),
    (lambda: forward_return(P4, "10"), "no unit"),
    (lambda: forward_return(P4, "-1s"), "positive duration"),
    (lambda: forward_return(P4, "1s"), "indexed by time"),
    (lambda: forward_return(P4, 1.5), "int"),
    (lambda: forward_return(P4, 1, "ticks"), "tick_size"),
    (lambda: forward_return(P4, 1, "pct"), "unit"),
    (lambda: forward_return(P4.to_numpy(), 1), "pandas Series"),
    (lambda: forward_return(pd.Series([1.0, -1.0]), 1), "row 1"),
    (lambda: forward_return(pd.Series([1.0, 2.0], index=secs(1, 0)), "1s"), "back in time at row 1"),
    (lambda: ternary_label(P4, 1), "alpha is given exactly"),
    (lambda: ternary_label(P4, 1, kind="adaptive"), "fit_span is required"),
    (lambda: ternary_label(P4, 1, kind="adaptive", fit_span=(10, 20)), "no rows inside"),
    (lambda: ternary_label(P4, 1, alpha=0.01, fit_span=(0, 2)), "only used with kind='adaptive'"),
    (lambda: ternary_label(P4, 1, kind="cost"), "zero everywhere"),
    (lambda: smoothed_label(P4, 1, 0.0), "alpha must be > 0"),
    (lambda: smoothed_label(P4, 1, 0.1, "deeplob"), "variant"),
    (lambda: smoothed_label(P4, 1, pd.Series([0.1] * 4, index=[5, 6, 7, 8])), "same index"),
    (lambda: triple_barrier(P4, vol=0.01, vertical=1, side=[1, 0, 1, 1]), "side must be"),
    (lambda: triple_barrier(P4, vol=0.01, vertical=1, side=[1, 1]), "one value per event"),
    (lambda: triple_barrier(P4, vol=0.01, vertical=1, events=[7]), "not in the price index"),
    (lambda: triple_barrier(pd.Series([1.0, 2.0], index=secs(0, 0)), vol=0.01, vertical=1, events=secs(0)), "boolean mask"),
    (lambda: triple_barrier(P4, vol=0.01, vertical=1, vertical_label="nan"), "vertical_label"),
    (lambda: label_uniqueness([2], [1], pd.RangeIndex(4)), "ends before it starts"),
    (lambda: fit_regimes(P4, 1, fit_span=(0, 4)), "n must be"),
])
def test_errors_are_microsig_errors_with_clear_messages(call, match):
    with pytest.raises(MicrosigError, match=match): call()

# ------------------------------------------------------------------------------------------------ real data
GOOG = "lobster/GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"
BTC = "ohlcv/BTCUSDT_spot_5m_2022.csv.gz"
needs = lambda f: pytest.mark.skipif(not (data_dir()/f).exists(), reason=f"{f} not in the data directory")

def _balance(rows):
    return pd.DataFrame([{**key, **class_balance(y, [-1, 0, 1]).to_dict()} for key, y in rows]).astype({"n": int})

@needs(GOOG)
def test_label_balance_goog(goog10):
    book = goog10.book
    mid = (book["ask_px_1"] + book["bid_px_1"]) / 2
    hs = half_spread(book)
    cost = cost_alpha(mid, hs)                        # a taker round trip: one full quoted spread
    train = ("09:30", "12:45")
    rows = []
    for k in (10, 20, 50, 100):
        for v in ("fi2010", "lobcast"):
            # the smoothed labels of the training span alone, so no label reaching past 12:45 shapes alpha
            fit = fit_alpha(smoothed_label(mid.between_time(*train, inclusive="left"), k, 1.0, v)["l"])
            for name, a in (("0.002", 0.002), ("cost", cost), (f"adaptive ({fit*1e4:.2f}bp)", fit)):
                rows.append(({"label": v, "k": k, "alpha": name}, smoothed_label(mid, k, a, v)["label"]))
        rows.append(({"label": "ternary", "k": k, "alpha": "0.002"}, ternary_label(mid, k, alpha=0.002)))
        rows.append(({"label": "ternary", "k": k, "alpha": "cost"}, ternary_label(mid, k, kind="cost", half_spread=hs)))
        y = ternary_label(mid, k, kind="adaptive", fit_span=train)
        rows.append(({"label": "ternary", "k": k, "alpha": f"adaptive ({y.attrs['alpha']*1e4:.2f}bp)"}, y))
        rows.append(({"label": "direction", "k": k, "alpha": "-"}, direction_label(mid, k)))
    # in clock time the cost-aware classes fill up: where a round trip's cost is a typical move
    for k in ("10s", "1min", "5min", "15min"):
        rows.append(({"label": "ternary", "k": k, "alpha": "cost"}, ternary_label(mid, k, kind="cost", half_spread=hs)))
        rows.append(({"label": "fi2010", "k": k, "alpha": "cost"}, smoothed_label(mid, k, cost)["label"]))
    t = _balance(rows)
    with pd.option_context("display.width", 200, "display.max_rows", 100, "display.precision", 3):
        print(f"\nGOOG 2012-06-21, {len(mid):,} events; relative half spread median {(hs/mid).median()*1e4:.2f} bps, "
              f"cost alpha median {cost.median()*1e4:.2f} bps; FI-2010 alpha = 20 bps\n{t.to_string(index=False)}")
    assert np.allclose(t.filter(like="share").sum(axis=1), 1)
    # 20 bps is ~4x GOOG's round trip (one spread, ~4.9 bps) and beyond almost every 100-event move
    assert (t.query("alpha == '0.002'")["share_0"] > 0.8).all()

@needs(BTC)
def test_label_balance_btc_5m():
    close = load_ohlcv(data_dir()/BTC, cache=False)["close"]
    train = (None, "2022-05-01")
    rows = []
    for h in (1, 3, 12):
        for name, kw in (("0.002", dict(alpha=0.002)), ("cost 2x10bp", dict(kind="cost", fee_bps=10.0)),
                         ("cost 2x7.5bp", dict(kind="cost", fee_bps=7.5)), ("adaptive", dict(kind="adaptive", fit_span=train))):
            y = ternary_label(close, h, **kw)
            rows.append(({"label": "ternary", "h_bars": h, "alpha": name + (f" ({y.attrs['alpha']*1e4:.1f}bp)" if "alpha" in y.attrs else "")}, y))
        rows.append(({"label": "fi2010", "h_bars": h, "alpha": "0.002"}, smoothed_label(close, h, 0.002)["label"]))
        rows.append(({"label": "direction", "h_bars": h, "alpha": "-"}, direction_label(close, h)))
    t = _balance(rows)
    with pd.option_context("display.width", 200, "display.max_rows", 100, "display.precision", 3):
        print(f"\nBTCUSDT 5m bars 2022, {len(close):,} bars\n{t.to_string(index=False)}")
    assert np.allclose(t.filter(like="share").sum(axis=1), 1)
