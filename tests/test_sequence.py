"""Sequence models (05_sequence): windows, determinism, causality, the scikit-learn contract, persistence."""
import os
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np, pandas as pd, pytest, torch
from hypothesis import given, settings, strategies as st
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from microsig.data import MicrosigError, ResultStore
from microsig.sequence import (DeepLOB, LSTMClassifier, TransformerClassifier, SequenceClassifier, GRUClassifier,
                               MLPClassifier, WindowDataset, segment_runs, window_ends, windows, _scaled, _zscore_stats)

torch.set_num_threads(1)

def toy(n=1500, f=3, seed=0):
    "Label = sign of the sum of the last 4 values of feature 0: only a window predicts it."
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, f)).astype(np.float32)
    y = (pd.Series(X[:, 0]).rolling(4).sum().to_numpy() > 0).astype(float)
    y[:3] = np.nan
    return X, y

@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=80), st.integers(1, 7))
def test_windows_never_cross_a_segment(seg, T):
    seg = np.asarray(seg)
    ends, dropped = window_ends(seg, T)
    run = segment_runs(seg)
    for e in ends:                       # every window lies in one contiguous run
        assert e - T + 1 >= 0 and len(set(run[e - T + 1:e + 1])) == 1
    first = np.r_[0, np.flatnonzero(np.diff(run)) + 1]
    pos_in_run = np.arange(len(seg)) - first[run]
    np.testing.assert_array_equal(ends, np.flatnonzero(pos_in_run >= T - 1))   # and every such row has one
    assert dropped == len(seg) - len(ends)

def test_exclude_and_gaps():
    split = np.array(["train"] * 5 + ["purged"] * 3 + ["val"] * 4, dtype=object)
    ends, dropped = window_ends(split, 2, exclude=["purged"])
    assert ends.tolist() == [1, 2, 3, 4, 9, 10, 11] and dropped == 2
    gaps = np.array([0, 0, 0, np.nan, 0, 0])          # a NaN segment label is a gap of its own
    assert window_ends(gaps, 2)[0].tolist() == [1, 2, 5]
    with pytest.raises(MicrosigError, match="rows"): window_ends(np.zeros(5), 2, n=6)

def test_no_copies():
    X = np.random.default_rng(0).standard_normal((1000, 6)).astype(np.float32)
    W = windows(X, 50)
    assert np.shares_memory(W, X) and W.shape == (951, 50, 6)
    ds = WindowDataset(X, window_ends(None, 50, n=1000)[0], 50)
    assert np.shares_memory(ds.X.numpy(), X)
    xb = ds.__getitems__([0, 10, 950])[0].numpy()
    np.testing.assert_array_equal(xb, W[[0, 10, 950]])
    with pytest.raises(MicrosigError, match="float32"): WindowDataset(X.astype(float), ds.ends, 50)

def test_zscore_chunked_matches_numpy():
    B = np.random.default_rng(1).normal(50, 3, (10_000, 6)); B[3, 1] = np.inf
    mu, sd = _zscore_stats(B, "column", chunk=777)
    Bn = np.where(np.isfinite(B), B, np.nan)
    np.testing.assert_allclose(mu, np.nanmean(Bn, 0), rtol=1e-10); np.testing.assert_allclose(sd, np.nanstd(Bn, 0), rtol=1e-10)
    Z, bad = _scaled(B, mu, sd, chunk=777)
    assert bad == 1 and Z.dtype == np.float32 and Z[3, 1] == 0

@pytest.mark.parametrize("module,kw", [("lstm", {"hidden": 8}), ("gru", {"hidden": 8, "bidirectional": True}),
                                       ("transformer", {"d_model": 8, "heads": 2, "layers": 1, "ff": 16}),
                                       ("mlp", {"hidden": 16})])
def test_same_seed_same_predictions(module, kw):
    X, y = toy(600)
    make = lambda s: SequenceClassifier(module, window=8, module_kwargs=kw, epochs=2, seed=s).fit(X[:450], y[:450])
    a, b = make(3).predict_proba(X[450:]), make(3).predict_proba(X[450:])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, make(4).predict_proba(X[450:]))

def test_deeplob_contract_and_determinism():
    m = DeepLOB()
    assert sum(p.numel() for p in m.parameters()) == 143_907
    assert m.eval()(torch.randn(3, 1, 100, 40)).shape == (3, 3)
    rng = np.random.default_rng(0)
    B = np.abs(rng.normal(100, 1, (400, 8))).astype(np.float32)
    y = rng.integers(0, 3, 400).astype(float)
    fit = lambda: SequenceClassifier("deeplob", window=24, epochs=1, norm="deeplob", seed=0).fit(B[:300], y[:300])
    np.testing.assert_array_equal(fit().predict_proba(B[300:]), fit().predict_proba(B[300:]))

def test_learns_and_is_causal():
    X, y = toy(2000)
    clf = SequenceClassifier("lstm", window=6, module_kwargs={"hidden": 16}, epochs=5, lr=3e-3, seed=0).fit(X[:1600], y[:1600])
    p = clf.predict_proba(X[1600:])
    assert (clf.classes_[p.argmax(1)][5:] == y[1605:]).mean() > 0.8
    X2 = X.copy(); X2[1800:] = 99.0                        # change the future: earlier predictions do not move
    np.testing.assert_array_equal(clf.predict_proba(X2[1600:])[:200], p[:200])
    seg = np.repeat([0, 1], 200)                           # change segment 0: segment 1 does not move
    q = clf.predict_proba(X[1600:], segments=seg)
    X3 = X[1600:].copy(); X3[:200] = -5
    np.testing.assert_array_equal(clf.predict_proba(X3, segments=seg)[205:], q[205:])
    assert clf.no_window_.sum() == 10 and np.allclose(q[200:205], clf.prior_)

def test_scaler_sees_training_rows_only():
    X, y = toy(800)
    kw = dict(window=5, module_kwargs={"hidden": 4}, epochs=1)
    a = SequenceClassifier("lstm", **kw).fit(X[:600], y[:600], eval_set=(X[600:], y[600:]))
    Xv = X[600:] * 100 + 7
    b = SequenceClassifier("lstm", **kw).fit(X[:600], y[:600], eval_set=(Xv, y[600:]))
    np.testing.assert_array_equal(a.mean_, b.mean_); np.testing.assert_array_equal(a.scale_, b.scale_)
    c = SequenceClassifier("lstm", validation_fraction=0.25, **kw).fit(X[:800], y[:800])   # the validation tail is left out
    np.testing.assert_allclose(c.mean_, X[:600].mean(0), rtol=1e-5)

def test_sklearn_contract_and_calibration():
    X, y = toy(900)
    yy = np.nan_to_num(y).astype(int)
    est = SequenceClassifier("mlp", window=6, epochs=1, validation_fraction=0, module_kwargs={"hidden": 16})
    c = clone(est).set_params(epochs=2)
    assert c.get_params()["epochs"] == 2 and est.get_params()["epochs"] == 1
    cal = CalibratedClassifierCV(est, cv=3, method="sigmoid").fit(X, yy)
    assert cal.predict_proba(X).shape == (900, 2)
    with pytest.raises(MicrosigError, match="columns"): clone(est).fit(X, yy).predict_proba(X[:, :2])

def test_store_round_trip(tmp_path):
    X, y = toy(500)
    clf = SequenceClassifier("transformer", window=6, epochs=1, module_kwargs={"d_model": 8, "heads": 2, "layers": 1}).fit(
        pd.DataFrame(X, columns=list("abc")), y)
    store = ResultStore("unit", root=tmp_path)
    store.save("05_sequence", {"data": "x"}, model_transformer_move=clf)
    back = store.load("05_sequence", {"data": "x"}, "model_transformer_move")
    assert isinstance(back, SequenceClassifier) and list(back.feature_names_in_) == list("abc")
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    assert back.train_log_.equals(clf.train_log_)
