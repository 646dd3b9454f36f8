"""The study runner and the `microsig` command, end to end on the simulator (no market data needed)."""
import json, re, subprocess, sys
from pathlib import Path
import pytest
from microsig.cli import load_study, main, missing_data, run_study, check_parameters
from microsig.data import MicrosigError

ROOT = Path(__file__).resolve().parents[1]
MICROSIG = Path(sys.executable).parent/"microsig"

def test_every_study_file_is_valid():
    studies = sorted((ROOT/"params").glob("*.yaml"))
    assert {p.stem for p in studies} >= {"synthetic", "lobster_goog", "lobster_aapl", "binance_btcusdt", "btc_5m"}
    for p in studies + sorted((ROOT/"params"/"full").glob("*.yaml")):
        s = load_study(p)
        assert all((ROOT/"nbs"/f"{c}.ipynb").exists() for c in s["chapters"]), p
        check_parameters(s["parameters"], s["chapters"], where=p.name)   # no typo reaches a chapter
    assert missing_data(load_study(ROOT/"params"/"synthetic.yaml")) == []

def test_run_executes_chapters_with_the_study_parameters(tmp_path):
    study = tmp_path/"tiny.yaml"
    study.write_text("title: tiny\nchapters: [00_data]\nparameters: {source: simulator, n_events: 5000, levels: 3, seed: 7}\n")
    r = subprocess.run([str(MICROSIG), "run", str(study), "--out", str(tmp_path/"runs")], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    nb = json.loads((tmp_path/"runs"/"tiny"/"00_data.ipynb").read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "n_events = 5000" in "".join(injected[0]["source"])
    assert "study = \"tiny\"" in "".join(injected[0]["source"])
    assert not any(o.get("output_type") == "error" for c in nb["cells"] for o in c.get("outputs", []))
    # nothing changed: the chapter is kept; an override (papermill's -p) reruns it with the new value
    again = subprocess.run([str(MICROSIG), "run", str(study), "--out", str(tmp_path/"runs")], capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0 and "00_data unchanged" in again.stdout + again.stderr
    r = subprocess.run([str(MICROSIG), "run", str(study), "--out", str(tmp_path/"runs"), "-p", "seed=8"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "unchanged" not in r.stdout + r.stderr, r.stderr[-2000:]
    nb = json.loads((tmp_path/"runs"/"tiny"/"00_data.ipynb").read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert "seed = 8" in "".join(injected[0]["source"])

def test_bad_study_and_missing_chapter(tmp_path):
    p = tmp_path/"bad.yaml"
    p.write_text("title: bad\nchapters: [77_nothing]\n")
    with pytest.raises(MicrosigError, match="chapter 77_nothing has no notebook"):
        run_study(p, out=tmp_path)
    assert main(["run", str(tmp_path/"absent.yaml")]) == 1

def test_a_parameter_no_chapter_declares_is_an_error(tmp_path):
    p = tmp_path/"typo.yaml"
    p.write_text("title: typo\nchapters: [00_data]\nparameters: {n_event: 5000}\n")
    with pytest.raises(MicrosigError, match=r"parameter\(s\) 'n_event' \(did you mean 'n_events'\?\) declared by none"):
        run_study(p, out=tmp_path)

def test_report_runs_what_it_can_and_says_why_it_skipped(tmp_path, monkeypatch):
    import shutil
    from microsig.cli import report
    params, book = tmp_path/"params", tmp_path/"book"
    params.mkdir()
    shutil.copytree(ROOT/"book", book, ignore=shutil.ignore_patterns("_build", "studies", "method", "_toc.yml"))
    (params/"synthetic.yaml").write_text("title: tiny synthetic\nchapters: [00_data]\nparameters: {n_events: 5000, levels: 3}\n")
    (params/"lobster_goog.yaml").write_text("title: GOOG\nchapters: [00_data]\nrequires: [lobster/NOPE_message_10.csv]\n")
    (params/"second.yaml").write_text("title: a second tiny one\nchapters: [00_data]\nparameters: {n_events: 3000, levels: 2}\n")
    monkeypatch.setenv("MICROSIG_DATA_DIR", str(tmp_path/"no_data"))
    lines = []
    index = report(params=params, book=book, out=tmp_path/"runs", log=lines.append, workers=2)   # two studies side by side
    assert index.exists()
    assert any(l.startswith("skipped lobster_goog: data not found") and "NOPE_message_10.csv" in l for l in lines)
    assert (book/"_build"/"html"/"studies"/"synthetic"/"00_data.html").exists()
    assert (book/"_build"/"html"/"studies"/"second"/"00_data.html").exists()
    page = (book/"_build"/"html"/"studies"/"lobster_goog"/"summary.html").read_text()
    assert "did not run" in page and "NOPE_message_10.csv" in page
    # results pages: prose and outputs, no code; the method pages show code and the API, never nbdev's hidden cells
    html = (book/"_build"/"html"/"studies"/"synthetic"/"00_data.html").read_text()
    assert "from fastcore.test import" not in html and "cell_input" not in html
    assert "This study" in html and "Where data lives" not in html   # the study's own sections, not the method again
    method = (book/"_build"/"html"/"method"/"00_data.html").read_text()
    assert "fastcore" not in method and "cell_input" in method and "tag_hide-input" in method
    assert '<span class="pre">simulate_lob</span></code></strong>' in method   # the API: name, signature, docments
    for page in ("summary", "../../synthesis", "../../reproducibility"):
        assert (book/"_build"/"html"/"studies"/"synthetic"/f"{page}.html").exists(), page

def test_every_parameter_line_parses():
    "papermill skips a parameter line it cannot parse (only a log line says so): the runner would then not pass it."
    import papermill as pm
    for nb in sorted((ROOT/"nbs").glob("[0-9]*.ipynb")):
        cells = [c for c in json.loads(nb.read_text())["cells"] if "parameters" in c["metadata"].get("tags", [])]
        if not cells: continue
        assert len(cells) == 1, f"{nb.name}: more than one parameters cell"
        names = {l.split("=")[0].strip() for l in "".join(cells[0]["source"]).splitlines() if re.match(r"^\w+\s*=", l)}
        assert names == set(pm.inspect_notebook(str(nb))), f"{nb.name}: papermill cannot parse {names - set(pm.inspect_notebook(str(nb)))}"
