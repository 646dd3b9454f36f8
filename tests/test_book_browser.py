"""The built book, read as a reader would: headless Chromium (Debian's `chromium`) opens the introduction and a
results page of every study that ran, checks titles, figures, tables and error text, and that the interactive
figures drew their SVG. Screenshots land in the build folder."""
import os, re, shutil, subprocess
from pathlib import Path
import pytest, yaml
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI_REQUIRE_BROWSER"),
                                reason="no chromium (the Makefile's test target installs Debian's package)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--virtual-time-budget=15000"]

def chromium(page:Path, *args, profile:Path)->str:
    r = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    return r.stdout

@pytest.fixture(scope="module")
def book(tmp_path_factory):
    "A report of every shipped study, each cut to its data chapter (the simulator to 20,000 events)."
    import papermill as pm
    from microsig.cli import load_study, report
    tmp = tmp_path_factory.mktemp("browser")
    params, book = tmp/"params", tmp/"book"
    params.mkdir()
    shutil.copytree(ROOT/"book", book, ignore=shutil.ignore_patterns("_build", "studies", "method", "_toc.yml", "_static"))
    declared = set(pm.inspect_notebook(str(ROOT/"nbs"/"00_data.ipynb")))
    for p in sorted((ROOT/"params").glob("*.yaml")):
        s = yaml.safe_load(p.read_text())
        s["chapters"] = ["00_data"]
        s["parameters"] = {k: v for k, v in s.get("parameters", {}).items() if k in declared}
        if s["parameters"].get("source") == "simulator": s["parameters"]["n_events"] = 20_000
        (params/p.name).write_text(yaml.safe_dump(s))
    lines = []
    report(params=params, book=book, out=tmp/"runs", log=lines.append)
    html = book/"_build"/"html"
    ran = sorted(p.parent.name for p in (html/"studies").glob("*/00_data.html"))
    skipped = [l for l in lines if l.startswith("skipped")]
    assert len(ran) + len(skipped) == len(list(params.glob("*.yaml"))), lines[-20:]
    return html, ran, tmp

def test_pages_read_as_a_report(book):
    html, ran, tmp = book
    shots = html.parent/"screenshots"; shots.mkdir(exist_ok=True)
    assert "synthetic" in ran
    pages = [("intro", html/"intro.html")] + [(s, html/"studies"/s/"00_data.html") for s in ran]
    for name, page in pages:
        assert page.exists(), page
        dom = BeautifulSoup(chromium(page, "--dump-dom", profile=tmp/f"p-{name}"), "html.parser")
        title = dom.title.get_text() if dom.title else ""
        assert title.strip() and "microsig" in title, (name, title)
        main = dom.select_one("main") or dom
        assert main.find("h1"), name
        if name == "intro": continue
        assert main.select("table"), f"{name}: no table"
        assert main.select("img") or main.select(".plotly-graph-div"), f"{name}: no figure"
        outputs = " ".join(o.get_text(" ") for o in main.select(".cell_output"))
        for bad in ("Traceback", "Error", "nan%"):
            assert bad not in outputs, f"{name}: {bad!r} in an output"
        # the interactive figure drew itself: plotly.js (shipped once in _static) ran and made its SVG
        divs = main.select(".plotly-graph-div")
        assert divs and all(d.select("svg.main-svg") for d in divs), f"{name}: plotly figure not rendered"
        chromium(page, f"--screenshot={shots/f'{name}.png'}", "--window-size=1280,2200", profile=tmp/f"s-{name}")
        assert (shots/f"{name}.png").stat().st_size > 10_000
    assert not list(html.rglob("*plotly-*.min.js")) and (html/"_static"/"plotly.min.js").exists()

def test_pages_stay_light(book):
    html, ran, _ = book
    for s in ran:
        page = html/"studies"/s/"00_data.html"
        size = page.stat().st_size + sum((page.parent/src).stat().st_size for src in
                                         re.findall(r'src="([^"]+\.png)"', page.read_text()) if (page.parent/src).exists())
        assert size < 5_000_000, (s, size)
