"""A multi-day study on a Dask cluster started apart from it: a `dask scheduler` and two `dask worker` processes on
127.0.0.1, as a user's cluster would be, reached by `--scheduler`; its results equal those of a LocalCluster run."""
import json, os, shutil, subprocess, sys, time
from pathlib import Path
import pandas as pd, pytest
from microsig.cli import run_study
from microsig.data import simulate_lake
from microsig.experiments import chapter_result

ROOT = Path(__file__).resolve().parents[1]
DASK = str(Path(sys.executable).parent/"dask")

@pytest.fixture
def cluster(tmp_path):
    "A scheduler and two one-thread workers in their own processes; yields the scheduler's address."
    sf = tmp_path/"scheduler.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(sf)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    try:
        for _ in range(300):
            if sf.exists() and sf.stat().st_size: break
            time.sleep(0.1)
        addr = json.loads(sf.read_text())["address"]
        procs += [subprocess.Popen([DASK, "worker", addr, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{i}"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) for i in range(2)]
        from distributed import Client
        with Client(addr) as c: c.wait_for_workers(2, timeout=120)
        yield addr
    finally:
        for p in procs[::-1]: p.terminate()
        for p in procs: p.wait(30)

def _study(tmp_path, name, lake):
    f = tmp_path/f"{name}.yaml"
    f.write_text(f"title: {name}\nchapters: [09a_days]\nsymbols: [SIM0, SIM1]\ndates: 2024-01-02..2024-01-04\nlake: {lake}\n"
                 "parameters: {levels: 5, horizons: [10], split_days: [1, 1, 1], train_days: 1, max_train_rows: 2000,"
                 " skip_open: null, skip_close: null}\n")
    return f

def test_a_separate_cluster_gives_the_local_clusters_numbers(tmp_path, cluster):
    simulate_lake(tmp_path/"a"/"lake", symbols=["SIM0", "SIM1"], start="2024-01-02", days=3, n_events=4_000, seed=3,
                  mode="martingale", signal=0.6, levels=5)
    shutil.copytree(tmp_path/"a", tmp_path/"b")   # two lakes, so each run builds its own symbol-days
    got = {}
    for name, lake, over in (("local", tmp_path/"a"/"lake", {"workers": 2}), ("remote", tmp_path/"b"/"lake", {"scheduler": cluster})):
        run_study(_study(tmp_path, name, lake), out=tmp_path/"runs", overrides=over, project=ROOT, method=False,
                  tracking_uri=f"sqlite:///{tmp_path/'mlruns.db'}", log=lambda m: None)
        res = chapter_result(tmp_path/"runs"/name/"store", "09a_days")
        got[name] = {k: pd.read_parquet(res/f"{k}.parquet") for k in ("built", "scores", "walkforward")}
    # every symbol-day was built by the cluster's workers, not found already built
    assert set(got["remote"]["built"].status) == {"written"}
    for k in ("scores", "walkforward"): pd.testing.assert_frame_equal(got["local"][k], got["remote"][k])
    assert len(got["remote"]["scores"]) and set(got["remote"]["scores"].symbol) == {"SIM0", "SIM1"}
