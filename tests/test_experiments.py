"""Sweeps end to end: a Dask LocalCluster on 127.0.0.1, a temporary MLflow store, a failing combination, a real
SIGKILL of the driver and a resumed rerun, an Optuna search; overrides and sweep-file checks."""
import json, os, signal, sqlite3, subprocess, sys, time
from pathlib import Path
import nbformat, pytest
from microsig.data import MicrosigError, code_version
from microsig.experiments import (parse_overrides, read_sweep, run_sweep, sweep_main, sweep_runs, sweep_table, n_trials,
                                  tracking_client)

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_NUM_THREADS", "1")

def tiny_chapter(folder, name="00_tiny"):
    "A chapter that stores a metrics frame and hands over a metric; it sleeps or fails on demand."
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell('study = "tiny"\nx = 1\nsleep = 0.0\nfail_at = -1', metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(
        "import time, pandas as pd\nfrom microsig.data import ResultStore\nfrom microsig.experiments import log_chapter_metrics\n"
        "time.sleep(sleep)\nif x == fail_at: raise ValueError(f'planted failure at x={x}')\n"
        "ResultStore(study).save('00_tiny', {'x': x}, metrics=pd.DataFrame({'model': ['m'], 'target': ['t'], 'split': ['test'], 'score': [x / 10]}))\n"
        "log_chapter_metrics({'x_squared': x * x})")]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder/f"{name}.ipynb")
    (folder.parent/"tiny.yaml").write_text("title: tiny\nchapters: [00_tiny]\nparameters: {x: 1}\n")
    return folder.parent/"tiny.yaml"

def combination_runs(db, sweep):
    return sweep_runs(sweep, f"sqlite:///{db}")

def test_overrides_are_parsed_like_papermill():
    assert parse_overrides(["-p", "seed", "3", "-p", "horizons=[10, 20]", "-p", "path", "None", "mode=queue"]) == \
        {"seed": 3, "horizons": [10, 20], "path": None, "mode": "queue"}
    with pytest.raises(MicrosigError, match="has no value"): parse_overrides(["-p", "seed"])

def test_a_sweep_typo_is_a_clear_error(tmp_path):
    f = tmp_path/"typo.yaml"
    f.write_text("study: params/synthetic.yaml\nchapters: [00_data]\ngrid: {n_event: [1000]}\n")
    with pytest.raises(MicrosigError, match=r"grid: parameter\(s\) 'n_event' \(did you mean 'n_events'\?\) declared by none of \['00_data'\]"):
        read_sweep(f)
    f.write_text("study: params/synthetic.yaml\ngird: {seed: [1]}\n")
    with pytest.raises(MicrosigError, match=r"unknown key\(s\) \['gird'\]"): read_sweep(f)

def test_shipped_sweeps_are_valid():
    from microsig.features import FEATURES
    from microsig.baselines import BOOK_MODELS, BAR_MODELS
    files = sorted((ROOT/"params"/"sweeps").glob("*.yaml"))
    assert {f.stem for f in files} >= {"horizons", "costs", "null", "ablation", "tune_xgb"}
    for f in files:
        w = read_sweep(f)                      # names checked against the chapters' parameters cells
        assert w["grid"] or w["random"] or w["optuna"], f
        for spec in w["grid"].get("feature_spec", []):
            assert spec is None or set(spec) <= set(FEATURES), (f, set(spec) - set(FEATURES))
        models = w["parameters"].get("04_baselines.models") or w["parameters"].get("models") or []
        assert set(models) <= set(BOOK_MODELS) | set(BAR_MODELS), (f, models)
    assert len(read_sweep(ROOT/"params"/"sweeps"/"null.yaml")["grid"]["seed"]) == 20

def test_sweep_of_a_real_chapter_records_a_failing_combination(tmp_path):
    study = tmp_path/"sim.yaml"
    study.write_text("title: sim\nchapters: [00_data, 01_clean]\nparameters: {source: simulator, n_events: 5000, seed: 3}\n")
    sw = tmp_path/"levels.yaml"
    sw.write_text(f"study: {study}\nchapters: [01_clean]\nparameters: {{skip_open: null, skip_close: null}}\ngrid: {{levels: [3, 0]}}\n")
    db = tmp_path/"mlruns.db"
    rc = sweep_main([str(sw), "--workers", "2", "--tracking-uri", str(db), "--out", str(tmp_path/"runs"), "--no-progress"])
    assert rc == 1                                     # a combination failed; the other still ran
    t = sweep_table(combination_runs(db, "levels")).set_index("levels")
    assert t.loc[3, "status"] == "FINISHED" and t.loc[0, "status"] == "FAILED"
    client = tracking_client(f"sqlite:///{db}")
    tb = Path(client.download_artifacts(t.loc[0, "run_id"], "traceback.txt", str(tmp_path))).read_text()
    assert "MicrosigError" in tb and "levels" in tb
    ok = tmp_path/"runs"/"sweeps"/"levels"/t.loc[3, "combination"]
    assert (ok/"01_clean.ipynb").exists() and (tmp_path/"runs"/"sweeps"/"levels"/"summary.csv").exists()
    tags = client.get_run(t.loc[3, "run_id"]).data.tags
    assert tags["sweep"] == "levels" and tags["study"] == "sim" and tags["code_version"] == code_version("01_clean") and tags["data_hash"]
    chapters = sweep_runs("levels", f"sqlite:///{db}", kind="chapter")
    assert sorted(chapters["status"]) == ["FAILED", "FINISHED"] and set(chapters["tags.chapter"]) == {"01_clean"}

def test_a_sigkilled_driver_is_resumed_without_duplicates(tmp_path):
    study = tiny_chapter(tmp_path/"nbs")
    sw = tmp_path/"slow.yaml"
    sw.write_text(f"study: {study}\nparameters: {{sleep: 2.0}}\ngrid: {{x: [1, 2, 3, 4, 5, 6]}}\n")
    db = tmp_path/"mlruns.db"
    cmd = [sys.executable, "-c", "import sys; from microsig.experiments import sweep_main; sys.exit(sweep_main(sys.argv[1:]))",
           str(sw), "--workers", "2", "--tracking-uri", str(db), "--out", str(tmp_path/"runs"), "--nbs", str(tmp_path/"nbs"), "--no-progress"]
    driver = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    finished = 0
    while time.time() < deadline and driver.poll() is None:
        time.sleep(0.5)
        if not db.exists(): continue
        try: finished = sqlite3.connect(db, timeout=5).execute(
                "SELECT count(*) FROM runs JOIN tags ON runs.run_uuid = tags.run_uuid WHERE tags.key = 'kind' AND tags.value = 'combination' AND runs.status = 'FINISHED'").fetchone()[0]
        except sqlite3.OperationalError: continue
        if finished >= 2: break
    assert driver.poll() is None, "the driver ended before it could be killed"
    os.kill(driver.pid, signal.SIGKILL); driver.wait()
    runs = combination_runs(db, "slow")
    assert 2 <= (runs["status"] == "FINISHED").sum() < 6          # killed mid-sweep
    again = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already finished" in again.stdout
    runs = combination_runs(db, "slow")
    fin = runs[runs["status"] == "FINISHED"]
    assert fin["tags.combination"].nunique() == 6 and len(fin) == 6      # every combination finished exactly once
    assert not (runs["status"] == "RUNNING").any()                      # the killed driver's runs are marked KILLED
    assert sorted(fin["metrics.test_score__m__t"]) == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert n_trials("slow", f"sqlite:///{db}") == 6

def test_optuna_search_on_dask_resumes_its_budget(tmp_path):
    study = tiny_chapter(tmp_path/"nbs")
    sw = tmp_path/"tune.yaml"
    spec = "study: {s}\noptuna: {{n_trials: {n}, metric: test_score, direction: maximize, seed: 0, space: {{x: {{int: [1, 8]}}}}}}\n"
    sw.write_text(spec.format(s=study, n=3))
    db, uri = tmp_path/"mlruns.db", f"sqlite:///{tmp_path/'mlruns.db'}"
    t = run_sweep(sw, workers=2, tracking_uri=uri, out=tmp_path/"runs", nbs=tmp_path/"nbs", progress=False, log=lambda *a: None)
    import optuna
    from microsig.experiments import optuna_storage
    (name,) = [s.study_name for s in optuna.get_all_study_summaries(optuna_storage(uri))]
    st = optuna.load_study(study_name=name, storage=optuna_storage(uri))
    done = [tr for tr in st.trials if tr.state.name == "COMPLETE"]
    assert len(done) == 3 and all(tr.value == pytest.approx(tr.params["x"] / 10) for tr in done)
    assert set(t["status"]) == {"FINISHED"} and t["x"].nunique() == len(t) <= 3     # a repeated suggestion reuses its run
    assert t["optuna_trial"].notna().all()
    sw.write_text(spec.format(s=study, n=4))                                          # a larger budget: 1 more trial
    run_sweep(sw, workers=2, tracking_uri=uri, out=tmp_path/"runs", nbs=tmp_path/"nbs", progress=False, log=lambda *a: None)
    st = optuna.load_study(study_name=name, storage=optuna_storage(uri))
    assert sum(tr.state.name == "COMPLETE" for tr in st.trials) == 4
    assert st.best_value == pytest.approx(max(tr.params["x"] for tr in st.trials) / 10)
