"""Shared fixtures. Tests track their runs in a throw-away MLflow store, never in the project's mlruns.db; what is
expensive to make (the GOOG sample, a built book) is made once per session and read by every test that needs it."""
import os, shutil, tempfile
from pathlib import Path
import pytest, yaml

_store = Path(tempfile.mkdtemp(prefix="microsig-mlflow-"))
os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{_store/'mlruns.db'}")

ROOT = Path(__file__).resolve().parents[1]
GOOG10 = "lobster/GOOG_2012-06-21_34200000_57600000_message_10.csv.gz"

@pytest.fixture(scope="session")
def goog10():
    "LOBSTER's GOOG sample, 10 levels, loaded once for the session: tests read it and never change it."
    from microsig.data import data_dir, load_lobster
    p = data_dir()/GOOG10
    if not p.exists(): pytest.skip(f"{GOOG10} not in the data directory")
    return load_lobster(p)

@pytest.fixture(scope="session")
def report_book(tmp_path_factory):
    """One report for the session: the shipped studies cut to their data chapter, two side by side, plus a study whose
    data is missing; the book built once, read by the CLI and browser tests. One study per kind of data page: every
    real-data study (LOBSTER at 10 and at 1 level, Binance, OHLCV bars), one lake study per raw format, and, of the
    simulator's, `synthetic` alone (cut to 20,000 events): sim_null and sim_signal run the same cells on the same source
    with another `mode`. `synthetic` is the method study, so it runs 00_data whole; the others run it results only."""
    import papermill as pm
    from microsig.cli import report
    tmp = tmp_path_factory.mktemp("report")
    params, book = tmp/"params", tmp/"book"
    params.mkdir()
    shutil.copytree(ROOT/"book", book, ignore=shutil.ignore_patterns("_build", "studies", "method", "_toc.yml", "_static"))
    declared = set(pm.inspect_notebook(str(ROOT/"nbs"/"00_data.ipynb")))
    lake_kinds = set()
    for p in sorted((ROOT/"params").glob("*.yaml")):
        s = yaml.safe_load(p.read_text())
        if s.get("parameters", {}).get("source") == "simulator" and p.stem != "synthetic": continue
        if "symbols" in s: continue   # a multi-day study (09a_days) has no one-day data page of its own
        if s.get("parameters", {}).get("source") == "lake":   # one lake study per raw format (two equity days are one page kind)
            kind = Path(s["parameters"]["path"]["ingest"][0]).parts[0]
            if kind in lake_kinds: continue
            lake_kinds.add(kind)
        # the method's pages: 00_data and, for the method study, the simulator's sub-chapter (formulas, an API)
        s["chapters"] = ["00_data"] + (["00h_simulator"] if p.stem == "synthetic" else [])
        s["parameters"] = {k: v for k, v in s.get("parameters", {}).items() if k in declared}
        if s["parameters"].get("source") == "simulator": s["parameters"]["n_events"] = 20_000
        (params/p.name).write_text(yaml.safe_dump(s))
    (params/"missing.yaml").write_text("title: data not here\nchapters: [00_data]\nrequires: [lobster/NOPE_message_10.csv]\n")
    lines = []
    index = report(params=params, book=book, out=tmp/"runs", log=lines.append, workers=2, ingest_data=False)
    html = book/"_build"/"html"
    ran = sorted(p.parent.name for p in (html/"studies").glob("*/00_data.html"))
    return {"index": index, "html": html, "book": book, "ran": ran, "lines": lines, "tmp": tmp, "params": params}
