"""Property tests of the purged splitters (no training label span ever overlaps a test span), the metric set and
the baselines' store round trip."""
from math import comb
import numpy as np, pandas as pd, pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.linear_model import LogisticRegression
from microsig.data import MicrosigError, ResultStore
from microsig.baselines import (PurgedKFold, CombinatorialPurgedKFold, WalkForwardSplit, chronological_split,
                                label_span_end, purged_train, classification_metrics, XGBBaseline, make_baselines,
                                BOOK_MODELS, accuracy_ci, independent_rows)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

@st.composite
def spans(draw, min_n=12, max_n=160):
    "n samples with random label spans; some without a label end (-1)."
    n = draw(st.integers(min_n, max_n))
    length = draw(st.lists(st.integers(0, 25), min_size=n, max_size=n))
    missing = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    pos1 = np.array([-1 if (m and draw(st.integers(0, 9)) == 0) or i + l >= n else i + l
                     for i, (l, m) in enumerate(zip(length, missing))])
    return n, pos1

def overlaps(train, test, end)->bool:
    "Whether any training span [i, e_i] intersects any test span [j, e_j]."
    if not len(train) or not len(test): return False
    i, j = np.asarray(train)[:, None], np.asarray(test)[None, :]
    return bool(np.any((i <= end[j]) & (j <= end[i])))

def embargo_ok(train, test, end, h)->bool:
    "No training row starts within h rows after the end of a test block's label spans."
    test = np.sort(test)
    cut = np.flatnonzero(np.diff(test) > 1)
    for a, b in zip(test[np.r_[0, cut + 1]], test[np.r_[cut, test.size - 1]]):
        B = end[a:b + 1].max()
        if np.any((train > B) & (train <= B + h)): return False
    return True

@SETTINGS
@given(spans(), st.integers(2, 6), st.sampled_from([0, 0.02, 3]))
def test_purged_kfold_no_overlap(data, k, embargo):
    n, pos1 = data
    if k > n: return
    end = label_span_end(pos1, n)
    h = int(np.ceil(embargo * n - 1e-9)) if isinstance(embargo, float) else embargo
    tests = []
    for train, test in PurgedKFold(k, embargo, label_end=pos1).split(np.zeros((n, 1))):
        assert not overlaps(train, test, end)
        assert embargo_ok(train, test, end, h)
        assert not np.intersect1d(train, test).size
        tests.append(test)
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), np.arange(n))   # the folds partition the rows

@SETTINGS
@given(spans(), st.integers(3, 6), st.integers(1, 2), st.sampled_from([0, 0.03]))
def test_cpcv_no_overlap_and_paths(data, N, k, embargo):
    n, pos1 = data
    end = label_span_end(pos1, n)
    cv = CombinatorialPurgedKFold(N, k, embargo, label_end=pos1)
    h = int(np.ceil(embargo * n - 1e-9))
    splits = list(cv.split(np.zeros((n, 1))))
    assert len(splits) == cv.get_n_splits() == comb(N, k)
    for train, test in splits:
        assert not overlaps(train, test, end) and embargo_ok(train, test, end, h)
    P = cv.paths()
    assert P.shape == (comb(N - 1, k - 1), N)
    groups, tg = cv.groups(n), cv.test_groups()
    for p in range(P.shape[0]):   # each path covers every row exactly once with out-of-sample predictions
        rows = np.concatenate([np.flatnonzero(groups == g) for g in range(N)])
        assert all(np.isin(np.flatnonzero(groups == g), splits[P[p, g]][1]).all() for g in range(N))
        np.testing.assert_array_equal(np.sort(rows), np.arange(n))
    assert all(g in tg[P[p, g]] for p in range(P.shape[0]) for g in range(N))
    np.testing.assert_array_equal(np.bincount(P.ravel(), minlength=len(tg)), np.full(len(tg), k))

@SETTINGS
@given(spans(min_n=40), st.integers(5, 20), st.integers(2, 10), st.booleans(), st.integers(0, 3))
def test_walk_forward_no_overlap(data, tr, te, expanding, gap):
    n, pos1 = data
    end = label_span_end(pos1, n)
    cv = WalkForwardSplit(tr, te, expanding=expanding, embargo=gap, label_end=pos1)
    if tr + gap + te > n:
        with pytest.raises(MicrosigError): list(cv.split(np.zeros((n, 1))))
        return
    for train, test in cv.split(np.zeros((n, 1))):
        assert not overlaps(train, test, end)
        assert train.size == 0 or train.max() < test.min() - gap      # the past only, and the gap
    assert cv.get_n_splits(np.zeros((n, 1))) == len(list(cv.split(np.zeros((n, 1)))))

@SETTINGS
@given(spans(min_n=30), st.sampled_from([(0.6, 0.2, 0.2), (0.5, 0.25, 0.25), (0.7, 0.0, 0.3)]), st.integers(0, 4))
def test_chronological_no_overlap(data, fr, h):
    n, pos1 = data
    end = label_span_end(pos1, n)
    try: s = chronological_split(n, pos1, fr, h)
    except MicrosigError: return
    tr, va, te = (np.flatnonzero(s == k) for k in ("train", "val", "test"))
    assert not overlaps(tr, va, end) and not overlaps(tr, te, end) and not overlaps(va, te, end)
    if va.size: assert tr.max(initial=-1) < va.min() and va.max() < te.min()
    assert len(s) == n and set(s) <= {"train", "val", "test", "purged"}

def test_times_equal_positions():
    "Label ends given as times on the samples' index purge exactly like the same ends as row positions."
    rng = np.random.default_rng(0)
    t = pd.Timestamp("2024-01-02 09:30", tz="America/New_York") + pd.to_timedelta(np.cumsum(rng.integers(1, 5, 200)), unit="ms")
    idx = pd.DatetimeIndex(t)
    pos1 = np.minimum(np.arange(200) + rng.integers(0, 10, 200), 199)
    t1 = pd.Series(idx[pos1], index=idx)
    a = [tuple(map(tuple, s)) for s in PurgedKFold(4, 0.02, label_end=pos1).split(np.zeros((200, 1)))]
    b = [tuple(map(tuple, s)) for s in PurgedKFold(4, 0.02, label_end=t1).split(np.zeros((200, 1)))]
    assert a == b

def test_sklearn_drives_the_splitters():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2)); y = (X[:, 0] > 0).astype(int)
    end = np.minimum(np.arange(300) + 4, 299)
    for cv in (PurgedKFold(3, 0.01, label_end=end), CombinatorialPurgedKFold(5, 2, 0.01, label_end=end),
               WalkForwardSplit(100, 50, label_end=end)):
        s = cross_val_score(LogisticRegression(), X, y, cv=cv)
        assert s.min() >= 0.85
        assert GridSearchCV(LogisticRegression(), {"C": [0.1, 1.0]}, cv=cv).fit(X, y).best_score_ > 0.9

@SETTINGS
@given(st.integers(0, 10_000), st.integers(2, 3), st.integers(5, 60))
def test_metrics_invariants(seed, k, n):
    rng = np.random.default_rng(seed)
    classes = np.arange(k)
    y = rng.integers(0, k, n)
    P = rng.dirichlet(np.ones(k), n)
    m = classification_metrics(y, P, classes)
    assert 0 <= m["accuracy"] <= 1 and 0 <= m["brier"] <= 2 and m["log_loss"] > 0
    perfect = classification_metrics(y, np.eye(k)[y], classes)
    assert perfect["accuracy"] == 1 and perfect["brier"] == 0 and perfect["macro_f1"] == 1
    if len(np.unique(y)) == k: assert perfect["roc_auc"] == 1 and perfect["mcc"] == pytest.approx(1)
    # relabelling the classes (e.g. {-1, 0, 1} instead of {0, 1, 2}) changes nothing
    m2 = classification_metrics(y - 1, P, classes - 1)
    assert all(np.isclose(m[key], m2[key], equal_nan=True) for key in m)

def test_brier_and_auc_against_hand_values():
    y = np.array([1, 0, 2]); P = np.array([[0.2, 0.5, 0.3], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8]])
    m = classification_metrics(y, P, [0, 1, 2])
    assert m["brier"] == pytest.approx(((0.04 + 0.25 + 0.09) + (0.16 + 0.04 + 0.04) + (0.01 + 0.01 + 0.04)) / 3)
    assert m["roc_auc"] == 1 and m["accuracy"] == 1

def test_xgb_store_round_trip_and_determinism(tmp_path):
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(2000, 4)), columns=list("abcd"))
    y = np.where(X.a + 0.5 * rng.normal(size=2000) > 0.4, 1, np.where(X.a < -0.4, -1, 0))
    m = XGBBaseline(n_estimators=30).fit(X, y)
    store = ResultStore("t", root=tmp_path)
    store.save("04_baselines", {"data": "x"}, model_xgb_10=m)
    back = store.load("04_baselines", {"data": "x"}, "model_xgb_10")
    np.testing.assert_allclose(back.predict_proba(X), m.predict_proba(X))
    np.testing.assert_array_equal(back.classes_, [-1, 0, 1])
    for name, est in make_baselines("book", ["rf", "xgb", "lgbm"], seed=7).items():     # same seed, same numbers
        p1 = est.fit(X, y).predict_proba(X)
        p2 = make_baselines("book", [name], seed=7)[name].fit(X, y).predict_proba(X)
        np.testing.assert_array_equal(p1, p2)

def test_accuracy_ci_thinning():
    pos = np.arange(100); end = np.minimum(pos + 9, 99)
    assert independent_rows(pos, end).tolist() == list(range(0, 100, 10))
    r = accuracy_ci(np.ones(100, bool), pos, end)
    assert r["n"] == 10 and r["lo"] == pytest.approx(0.025 ** (1 / 10))   # Clopper-Pearson lower bound for 10 of 10

def test_bad_inputs():
    with pytest.raises(MicrosigError, match="fractions"): chronological_split(10, None, (0.5, 0.5, 0.5))
    with pytest.raises(MicrosigError, match="n_splits"): list(PurgedKFold(1).split(np.zeros((5, 1))))
    with pytest.raises(MicrosigError, match="n_test_groups"): CombinatorialPurgedKFold(3, 3).get_n_splits()
    with pytest.raises(MicrosigError, match="embargo"): list(PurgedKFold(2, embargo=1.5).split(np.zeros((5, 1))))
    with pytest.raises(MicrosigError, match="not among classes"): classification_metrics([5], [[1.0, 0.0]], [0, 1])
