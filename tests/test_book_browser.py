"""The built book, read as a reader would: headless Chromium (Debian's `chromium`) opens the introduction, a results
page of every study that ran and a method page with formulas, with every host but 127.0.0.1 unreachable. It checks
titles, figures, tables and error text, that the interactive figures drew their SVG, that the formulas were typeset
by the MathJax shipped with the book, and that no request left the machine. `report` leaves screenshots of the
synthesis and of a results page per study in the build folder (`screenshot_pages`); the method page's is taken here."""
import json, os, re, shutil, subprocess
from pathlib import Path
from urllib.parse import urlparse
import pytest
from bs4 import BeautifulSoup

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI_REQUIRE_BROWSER"),
                                reason="no chromium (the Makefile's test target installs Debian's package)")
# offline as a reader without a network: every name resolves nowhere except the loopback address
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--virtual-time-budget=15000",
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
LOCAL = {"127.0.0.1", "localhost", ""}

def chromium(page:Path, *args, profile:Path)->str:
    r = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    return r.stdout

def requested(netlog:Path)->set:
    """The network URLs the page asked for, from Chromium's network log (file:// reads are not in it). The browser's
    own background requests (update checks, accounts) have no page behind them: their initiator is 'not an origin'."""
    log = json.loads(netlog.read_text())
    start = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    return {e["params"]["url"] for e in log["events"] if start.get(e["type"]) == "URL_REQUEST_START_JOB"
            and e.get("params", {}).get("initiator") != "not an origin" and re.match(r"(https?|wss?)://", e["params"].get("url", ""))}

@pytest.fixture(scope="module")
def book(report_book):
    assert len(report_book["ran"]) + sum(l.startswith("skipped") for l in report_book["lines"]) == \
        len(list(report_book["params"].glob("*.yaml"))), report_book["lines"][-20:]
    return report_book["html"], report_book["ran"], report_book["tmp"]

def test_pages_read_as_a_report(book):
    html, ran, tmp = book
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
        assert not re.search(r"\b[0-9a-f]{16}\b|stored the result", outputs), f"{name}: a store key in an output"
        # the interactive figure drew itself: plotly.js (shipped once in _static) ran and made its SVG
        divs = main.select(".plotly-graph-div")
        assert divs and all(d.select("svg.main-svg") for d in divs), f"{name}: plotly figure not rendered"
    assert not list(html.rglob("*plotly-*.min.js")) and (html/"_static"/"plotly.min.js").exists()

def test_formulas_render_offline(book):
    "The simulator's method chapter has display and inline formulas: MathJax from _static typesets them, nothing leaves 127.0.0.1."
    html, _, tmp = book
    page = html/"method"/"00h_simulator.html"
    static = page.read_text()
    n_math = len(BeautifulSoup(static, "html.parser").select(".math"))
    assert n_math >= 3, n_math
    # no CDN: every script and stylesheet the page names is a file of the book
    for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', static):
        assert urlparse(src).scheme in ("", "file") or urlparse(src).hostname in LOCAL, src
    assert (html/"_static"/"mathjax"/"tex-chtml.js").exists()
    log = tmp/"netlog-formulas.json"
    dom = BeautifulSoup(chromium(page, "--dump-dom", f"--log-net-log={log}", profile=tmp/"p-formulas"), "html.parser")
    main = dom.select_one("main") or dom
    # every formula was typeset: each math element holds MathJax's output, none is left as TeX
    maths = main.select(".math")
    untyped = [m.get_text()[:80] for m in maths if not m.select("mjx-container")]
    assert len(maths) == n_math and not untyped, untyped[:3]
    for code in main.select("pre, code"): code.decompose()    # the shown code may hold a '$'; the prose may not
    assert "$$" not in main.get_text(" "), "raw TeX left on the page"
    gone = {u for u in requested(log) if urlparse(u).hostname not in LOCAL}
    assert not gone, f"requests left the machine: {sorted(gone)[:5]}"
    shots = html.parent/"screenshots"; shots.mkdir(exist_ok=True)
    chromium(page, f"--screenshot={shots/'method-00_data.png'}", "--window-size=1280,2200", profile=tmp/"s-formulas")

def test_pages_stay_light(book):
    "Every page of the book, with the images it names, under 2 MB: interactive figures are decimated for the book."
    html, ran, _ = book
    for page in html.rglob("*.html"):
        if "_static" in page.parts: continue
        size = page.stat().st_size + sum((page.parent/src).stat().st_size for src in
                                         re.findall(r'src="([^"]+\.png)"', page.read_text()) if (page.parent/src).exists())
        assert size < 2_000_000, (page.relative_to(html), size)

def test_report_leaves_screenshots(report_book):
    "`report` photographs the synthesis and one results page per study that ran into book/_build/screenshots/."
    shots = report_book["html"].parent/"screenshots"
    assert any(l.startswith("screenshots: ") for l in report_book["lines"]), report_book["lines"][-5:]
    for name in ["synthesis", *(f"results-{s}" for s in report_book["ran"])]:
        png = (shots/f"{name}.png").read_bytes()
        # a PNG of the window's width, with more in it than a blank page
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 1280, name
        assert len(png) > 20_000, (name, len(png))
