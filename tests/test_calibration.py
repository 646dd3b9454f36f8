"Calibration, thresholds and return forecasts (06_calibration): properties on synthetic data with a known truth."
import numpy as np, pandas as pd, pytest
from scipy.special import softmax
from scipy.stats import norm
from microsig.data import MicrosigError, ResultStore
from microsig.calibration import (calibrate, expected_calibration_error, maximum_calibration_error, brier_score,
                                  brier_decomposition, Calibrator, METHODS, Thresholds, fit_thresholds,
                                  positions_from_proba, class_returns, expected_return, fit_quantile_model,
                                  predict_quantiles, pinball_loss, interval_coverage, fit_expected_return,
                                  ReturnCalibrator, forecast_frame, edge)


def overconfident(n, seed, sharpen=3.0, k=3):
    "Labels from softmax(z); the model reports softmax(sharpen * z)."
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 4)) @ np.random.default_rng(99).normal(size=(4, k)) * 0.7
    p_true = softmax(z, axis=1)
    y = (rng.random(n)[:, None] > np.cumsum(p_true, axis=1)).sum(1)
    return y, softmax(sharpen * z, axis=1), p_true


@pytest.mark.parametrize("sharpen", [0.5, 2.0, 3.0])
def test_temperature_recovers_sharpening_and_keeps_argmax(sharpen):
    y, p, _ = overconfident(30_000, 1, sharpen)
    cal = calibrate(p, y, "temperature")
    assert abs(cal.params["temperature"] - sharpen) < 0.08 * sharpen
    yt, pt, _ = overconfident(10_000, 2, sharpen)
    q = cal(pt)
    np.testing.assert_array_equal(q.argmax(1), pt.argmax(1))           # accuracy unchanged
    assert expected_calibration_error(yt, q) < 0.02


def test_calibrators_fit_on_validation_only_and_improve_test():
    yv, pv, _ = overconfident(20_000, 3)
    yt, pt, ptrue = overconfident(20_000, 4)
    before = expected_calibration_error(yt, pt)
    for m in METHODS:
        cal = calibrate(pv, yv, m)
        q = cal(pt)
        np.testing.assert_allclose(q.sum(1), 1.0)
        assert expected_calibration_error(yt, q) < before / 4
        assert brier_score(yt, q) < brier_score(yt, pt)
        # a calibrator is a frozen map: refitting nothing, the same input gives the same output
        np.testing.assert_array_equal(cal(pt), q)
        # fitted on validation labels only: shuffling the test labels cannot change its output
        assert cal.n_fit == len(yv)


def test_ece_hand_worked_and_invariances():
    y = [0, 1, 1, 0]
    p = np.array([[0.9, 0.1], [0.7, 0.3], [0.35, 0.65], [0.45, 0.55]])
    assert expected_calibration_error(y, p, n_bins=5) == pytest.approx(0.25)
    assert maximum_calibration_error(y, p, n_bins=5) == pytest.approx(0.55)
    # all correct with confidence 1: ECE 0; all wrong at confidence 1: ECE 1
    assert expected_calibration_error([0, 1], [[1.0, 0.0], [0.0, 1.0]]) == pytest.approx(0.0)
    assert expected_calibration_error([1, 0], [[1.0, 0.0], [0.0, 1.0]]) == pytest.approx(1.0)
    # permuting rows does not change ECE or Brier
    yv, pv, _ = overconfident(2_000, 5)
    perm = np.random.default_rng(0).permutation(len(yv))
    assert expected_calibration_error(yv[perm], pv[perm]) == pytest.approx(expected_calibration_error(yv, pv))
    assert brier_score(yv[perm], pv[perm]) == pytest.approx(brier_score(yv, pv))


def test_brier_matches_sklearn_and_decomposition_adds_up():
    from sklearn.metrics import brier_score_loss
    rng = np.random.default_rng(0)
    p1 = rng.random(1000)
    y = (rng.random(1000) < p1).astype(int)
    p = np.column_stack([1 - p1, p1])
    assert brier_score(y, p) == pytest.approx(2 * brier_score_loss(y, p1))  # two classes: twice the binary score
    yv, pv, _ = overconfident(5_000, 6)
    for b in (1, 5, 15, 40):
        d = brier_decomposition(yv, pv, n_bins=b)
        assert d["reliability"] - d["resolution"] + d["uncertainty"] + d["within_bin"] == pytest.approx(d["brier"], abs=1e-12)
        assert d["reliability"] >= 0 and d["resolution"] >= 0


def test_calibrator_store_round_trip(tmp_path):
    yv, pv, _ = overconfident(5_000, 7)
    store = ResultStore("unit", root=tmp_path)
    params = {"data": "x", "t": 1}
    cals = {m: calibrate(pv, yv - 1, m, classes=[-1, 0, 1]) for m in METHODS}
    rc = fit_expected_return(pv[:, 2] - pv[:, 0], yv - 1.0)
    store.save("06_calibration", params, **{f"cal_{m}": c for m, c in cals.items()}, rc=rc)
    back = store.load("06_calibration", params)
    for m, c in cals.items():
        assert isinstance(back[f"cal_{m}"], Calibrator) and back[f"cal_{m}"].classes == [-1, 0, 1]
        np.testing.assert_array_equal(back[f"cal_{m}"](pv[:100]), c(pv[:100]))
    assert isinstance(back["rc"], ReturnCalibrator)
    np.testing.assert_array_equal(back["rc"](np.linspace(-1, 1, 9)), rc(np.linspace(-1, 1, 9)))


def test_bad_input_is_a_microsig_error():
    yv, pv, _ = overconfident(500, 8)
    with pytest.raises(MicrosigError, match="method"): calibrate(pv, yv, "beta")
    with pytest.raises(MicrosigError, match="sum to 1"): calibrate(pv * 0.5, yv)
    with pytest.raises(MicrosigError, match="labels"): calibrate(pv, yv[:-1])
    with pytest.raises(MicrosigError, match="outside the classes"): expected_calibration_error(yv + 5, pv)
    with pytest.raises(MicrosigError, match="n_bins"): expected_calibration_error(yv, pv, n_bins=1.5)


def latent(n, seed, alpha=3.0, beta=5.0, noise=10.0):
    rng = np.random.default_rng(seed)
    s = rng.normal(size=n)
    r = beta * s + noise * rng.normal(size=n)
    y = np.where(r >= alpha, 2, np.where(r <= -alpha, 0, 1))
    pu, pdn = 1 - norm.cdf((alpha - beta * s) / noise), norm.cdf((-alpha - beta * s) / noise)
    return y, r, np.column_stack([pdn, 1 - pu - pdn, pu])


def test_thresholds_frozen_on_validation_beat_trading_everything_after_cost():
    cost = 5.0
    ytr, rtr, _ = latent(20_000, 1)
    yv, rv, pv = latent(20_000, 2)
    yt, rt, pt = latent(20_000, 3)
    mk = class_returns(ytr, rtr, [0, 1, 2])
    sharpe = lambda pos: (lambda x: x.mean() / x.std())(pos * rt - cost * np.abs(pos))
    everything = np.sign(edge(pt)).astype(int)
    th_s = fit_thresholds(pv, y=None, ret_bps=rv, objective="sharpe", cost_bps=cost)
    th_e = fit_thresholds(pv, ret_bps=rv, objective="ev", cost_bps=cost, class_ret=mk)
    th_f = fit_thresholds(pv, y=yv, objective="f1")
    assert sharpe(everything) < 0
    assert sharpe(positions_from_proba(pt, th_s)) > 0.1
    assert sharpe(positions_from_proba(pt, th_e)) > 0.1
    np.testing.assert_array_equal(positions_from_proba(pt, th_e) != 0, np.abs(expected_return(pt, mk)) > cost)
    assert 0 <= th_f.theta < 1 and th_f.objective == "f1"
    # thresholds depend only on validation: the same call gives the same frozen object, and it round-trips
    assert fit_thresholds(pv, ret_bps=rv, objective="sharpe", cost_bps=cost) == th_s
    assert Thresholds.from_dict(th_e.to_dict()) == th_e
    assert Thresholds.from_dict(pd.DataFrame([th_s.to_dict()]).iloc[0].to_dict()) == th_s


def test_higher_cost_never_trades_more_under_ev_rule():
    yv, rv, pv = latent(5_000, 4)
    mk = class_returns(yv, rv, [0, 1, 2])
    n = [int((positions_from_proba(pv, Thresholds("ev", 0.0, (0, 1, 2), c, tuple(mk))) != 0).sum()) for c in (0, 2, 5, 10, 50)]
    assert n == sorted(n, reverse=True) and n[-1] == 0


def test_quantile_forecasts_cover_and_are_sorted():
    def hetero(n, seed):
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n, 3))
        return X, 3 * X[:, 0] + (2 + 3 * np.abs(X[:, 1])) * rng.normal(size=n)
    (Xtr, rtr), (Xv, rv), (Xt, rt) = hetero(6_000, 1), hetero(3_000, 2), hetero(6_000, 3)
    qs = [0.1, 0.5, 0.9]
    m = fit_quantile_model(Xtr, rtr, qs, Xv, rv, learning_rate=0.1)
    q, crossed = predict_quantiles(m, Xt)
    assert (np.diff(q, axis=1) >= 0).all() and 0 <= crossed < 0.2
    assert abs(interval_coverage(rt, q[:, 0], q[:, -1]) - 0.8) < 0.05
    sd = 2 + 3 * np.abs(Xt[:, 1])
    q_true = 3 * Xt[:, [0]] + sd[:, None] * norm.ppf(qs)
    assert (pinball_loss(rt, q, qs) < pinball_loss(rt, np.tile(np.quantile(rtr, qs), (len(rt), 1)), qs)).all()  # beats unconditional
    assert (pinball_loss(rt, q, qs) < 1.1 * pinball_loss(rt, q_true, qs)).all()
    # same seed, same forecasts
    np.testing.assert_array_equal(predict_quantiles(fit_quantile_model(Xtr, rtr, qs, Xv, rv, learning_rate=0.1), Xt)[0], q)
    f = forecast_frame(np.arange(len(Xt)), "test", q, qs, np.zeros(len(Xt)))
    assert list(f.columns[:5]) == ["pos", "split", "q_0.1", "q_0.5", "q_0.9"] and (f["z_edge"] == 0).all()


def test_expected_return_calibration_is_calibrated_out_of_sample():
    ytr, rtr, _ = latent(20_000, 7)
    _, rv, pv = latent(20_000, 5)
    yt, rt, pt = latent(20_000, 6)
    mk = class_returns(ytr, rtr, [0, 1, 2])
    rc = fit_expected_return(expected_return(pv, mk), rv)
    mu = rc(expected_return(pt, mk))
    assert abs(np.polyfit(mu, rt, 1)[0] - 1) < 0.1
    assert abs((rt - mu).mean()) < 0.3
