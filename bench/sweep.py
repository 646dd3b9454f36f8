"""Sweep benchmark: wall time of an 8-combination sweep on 1 and on 2 Dask workers, the speed-up, and the per-run
overhead of MLflow tracking. Prints figures; `microsig bench sweep` runs it.

Each combination executes chapter 03_labels with papermill (simulator, 20,000 events, 3 levels, seeds 0-7) into a
temporary runs folder, tracked in a temporary SQLite MLflow store. The tracking overhead is what `run_tracked`
measures around every MLflow call of a run (creating the study and chapter runs, logging parameters, metrics,
tags and the executed notebook, ending the runs), read back from the store."""
import os, sys, tempfile, time
from pathlib import Path
import yaml

def load()->str:
    try: return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError: return "n/a"

def main(n:int=8, events:int=20_000, chapter:str="03_labels"):
    from microsig.experiments import run_sweep, sweep_runs, tracking_client
    tmp = Path(tempfile.mkdtemp(prefix="microsig-bench-sweep-"))
    study = tmp/"bench.yaml"
    study.write_text(yaml.safe_dump({"title": "sweep benchmark", "chapters": [chapter],
                                     "parameters": {"source": "simulator", "n_events": events, "levels": 3, "mode": "martingale",
                                                    "skip_open": None, "skip_close": None}}))
    uri = f"sqlite:///{tmp/'mlruns.db'}"
    tracking_client(uri)                       # create the store's tables before timing
    print(f"sweep benchmark: {n} combinations of {chapter} (simulator, {events:,} events), {os.cpu_count()} CPUs, "
          f"load average before: {load()}")
    from microsig.experiments import dask_client
    t0 = time.perf_counter()
    with dask_client(2) as c: c.submit(sum, [1, 2]).result()
    print(f"start and close a 2-worker LocalCluster: {time.perf_counter() - t0:.1f} s (a fixed cost of every sweep)")
    walls = {}
    for workers in (1, 2):
        sw = tmp/f"bench_w{workers}.yaml"
        sw.write_text(yaml.safe_dump({"study": str(study), "grid": {"seed": list(range(n))}}))
        t0 = time.perf_counter()
        t = run_sweep(sw, workers=workers, tracking_uri=uri, out=tmp/"runs", progress=False, log=lambda *a: None)
        walls[workers] = time.perf_counter() - t0
        bad = t[t["status"] != "FINISHED"]
        if len(bad): sys.exit(f"{len(bad)} combination(s) did not finish: {bad[['combination', 'status']].to_dict('records')}")
        per = t["wall_s"]
        print(f"{workers} worker(s): {walls[workers]:6.1f} s wall for {n} combinations "
              f"(a combination: median {per.median():.1f} s; load average now {load()})")
    print(f"speed-up 2 workers vs 1: {walls[1] / walls[2]:.2f}x (target >= 1.7x)")
    import pandas as pd
    runs = pd.concat([sweep_runs("bench_w1", uri), sweep_runs("bench_w2", uri)], ignore_index=True)
    ov = runs["metrics.tracking_overhead_s"]
    chap = runs["metrics.wall_s"]
    print(f"tracking overhead per run (study run + 1 nested chapter run): mean {ov.mean():.3f} s, median {ov.median():.3f} s, "
          f"max {ov.max():.3f} s over {len(ov)} runs (target < 0.5 s); {100 * ov.mean() / chap.mean():.1f}% of a run's {chap.mean():.1f} s")
    print(f"load average after: {load()}")

if __name__ == "__main__":
    main()
