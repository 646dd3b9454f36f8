"""The study runner and the `microsig` command, end to end on the simulator (no market data needed)."""
import json, re, subprocess, sys
import yaml
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
    # from any folder: the chapters are found through the installed package's checkout
    elsewhere = tmp_path/"elsewhere"; elsewhere.mkdir()
    r = subprocess.run([str(MICROSIG), "run", str(study), "--out", str(tmp_path/"runs"), "--tracking-uri", str(tmp_path/"fresh.db")],
                       capture_output=True, text=True, cwd=elsewhere)
    assert r.returncode == 0, r.stderr[-3000:]
    # one progress line per chapter, and no kernel warnings
    assert re.search(r"\[tiny\] \[\.+\] 0/1 00_data running \| 0:00:\d\d", r.stdout), r.stdout
    assert "[tiny] [##########] 1/1 done" in r.stdout and "without encryption" not in r.stdout + r.stderr, r.stderr[-2000:]
    assert "Creating initial MLflow database tables" not in r.stderr, r.stderr[-2000:]   # a new store's set-up is not progress
    nb = json.loads((tmp_path/"runs"/"tiny"/"00_data.ipynb").read_text())
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "n_events = 5000" in "".join(injected[0]["source"])
    assert "study = \"tiny\"" in "".join(injected[0]["source"])
    assert not any(o.get("output_type") == "error" for c in nb["cells"] for o in c.get("outputs", []))
    # nothing changed: the chapter is kept; an override (papermill's -p) reruns it with the new value
    again = subprocess.run([str(MICROSIG), "run", str(study), "--out", str(tmp_path/"runs")], capture_output=True, text=True, cwd=elsewhere)
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

def test_without_a_checkout_the_error_says_what_to_do(tmp_path, monkeypatch, capsys):
    "Installed without its source tree and run outside a checkout: a microsig error naming --project, not a FileNotFoundError."
    import microsig
    study = tmp_path/"tiny.yaml"
    study.write_text("title: tiny\nchapters: [00_data]\nparameters: {n_events: 5000}\n")
    monkeypatch.setattr(microsig, "__file__", str(tmp_path/"site-packages"/"microsig"/"__init__.py"))
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(study), "--out", str(tmp_path/"runs")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("microsig: no chapters found") and "--project" in err, err
    assert main(["run", str(study), "--project", str(tmp_path)]) == 1
    assert "no nbs/ folder of chapters" in capsys.readouterr().err
    # --project names the checkout: the study's chapters are found there
    assert main(["run", str(study), "--project", str(ROOT), "--chapters", "77_nothing"]) == 1
    assert "77_nothing" in capsys.readouterr().err

def test_a_parameter_no_chapter_declares_is_an_error(tmp_path):
    p = tmp_path/"typo.yaml"
    p.write_text("title: typo\nchapters: [00_data]\nparameters: {n_event: 5000}\n")
    with pytest.raises(MicrosigError, match=r"parameter\(s\) 'n_event' \(did you mean 'n_events'\?\) declared by none"):
        run_study(p, out=tmp_path)

def test_report_runs_what_it_can_and_says_why_it_skipped(report_book):
    "The session's report (conftest): every shipped study cut to 00_data, two side by side, one without its data."
    lines, html = report_book["lines"], report_book["html"]
    assert report_book["index"].exists()
    assert any(l.startswith("skipped missing: data not found") and "NOPE_message_10.csv" in l for l in lines), lines
    assert "synthetic" in report_book["ran"] and len(report_book["ran"]) >= 2
    page = (html/"studies"/"missing"/"summary.html").read_text()
    assert "did not run" in page and "NOPE_message_10.csv" in page
    # results pages: prose and outputs, no code; the method pages show code and the API, never nbdev's hidden cells
    page = (html/"studies"/"synthetic"/"00_data.html").read_text()
    assert "from fastcore.test import" not in page and "cell_input" not in page
    assert "This study" in page and "Where data lives" not in page   # the study's own sections, not the method again
    method = (html/"method"/"00_data.html").read_text()
    assert "fastcore" not in method and "cell_input" in method and "tag_hide-input" in method
    sim = (html/"method"/"00h_simulator.html").read_text()
    assert '<span class="pre">simulate_lob</span></code></strong>' in sim   # the API: name, signature, docments
    assert not (html/"studies"/"synthetic"/"00h_simulator.html").exists()   # a library chapter is method only
    for page in ("summary", "../../synthesis", "../../reproducibility"):
        assert (html/"studies"/"synthetic"/f"{page}.html").exists(), page

def test_results_pages_name_their_study_and_fold_under_it(report_book):
    "Each results page's title names its study; the sidebar lists a study's chapters under its summary, folded."
    from bs4 import BeautifulSoup
    html = report_book["html"]
    for s in report_book["ran"]:
        dom = BeautifulSoup((html/"studies"/s/"00_data.html").read_text(), "html.parser")
        assert dom.title.get_text().startswith(f"{s}: "), dom.title.get_text()
        # in the sidebar, the page sits in the list under its study's summary, in a folding item
        # the page's own entry: the current second-level item (the theme links it as "#")
        link = next(a for a in dom.select("nav.bd-links li.toctree-l2.current > a") if a.get("href", "") in ("#", "00_data.html"))
        parent = link.find_parent("ul").find_parent("li")
        assert "toctree-l1" in parent["class"] and "has-children" in parent["class"], parent.get("class")
        assert parent.find("a")["href"].endswith("summary.html")
    toc = yaml.safe_load((report_book["book"]/"_toc.yml").read_text())
    studies = next(p for p in toc["parts"] if p["caption"] == "Studies")
    chapters = {c["file"]: c for c in studies["chapters"]}
    for s in report_book["ran"]: assert chapters[f"studies/{s}/summary"]["sections"] == [{"glob": f"studies/{s}/0*"}]
    assert "sections" not in chapters["studies/missing/summary"]

def test_every_parameter_line_parses():
    "papermill skips a parameter line it cannot parse (only a log line says so): the runner would then not pass it."
    import papermill as pm
    for nb in sorted((ROOT/"nbs").glob("[0-9]*.ipynb")):
        cells = [c for c in json.loads(nb.read_text())["cells"] if "parameters" in c["metadata"].get("tags", [])]
        if not cells: continue
        assert len(cells) == 1, f"{nb.name}: more than one parameters cell"
        names = {l.split("=")[0].strip() for l in "".join(cells[0]["source"]).splitlines() if re.match(r"^\w+\s*=", l)}
        assert names == set(pm.inspect_notebook(str(nb))), f"{nb.name}: papermill cannot parse {names - set(pm.inspect_notebook(str(nb)))}"
