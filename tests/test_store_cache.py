"""Chapters hand results on through the store: a rerun with the same key loads instead of training, and a later
chapter whose upstream result is missing says which chapter to run."""
import json, re
from pathlib import Path
import pytest
from microsig.cli import run_study
from microsig.data import MicrosigError

# small on purpose: a store round trip needs a dataset and a fit, not a study. 20,000 events with the session edges
# kept, one horizon, two cheap baselines, and the null (signal 0) so that 04's planted-signal and leak checks (run by
# nbdev-test on the chapter's defaults) are skipped here
TINY = ("title: tiny\nchapters: [03_labels, 04_baselines]\n"
        "parameters: {n_events: 20000, mode: martingale, signal: 0.0, horizons: [10], skip_open: null, skip_close: null,\n"
        "             models: [prior, qi_logit]}\n")

def _outputs(nb:Path)->str:
    return "".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                   for c in json.loads(nb.read_text())["cells"] for o in c.get("outputs", []) if o.get("output_type") == "stream")

def test_a_rerun_loads_what_was_stored(tmp_path):
    study = tmp_path/"tiny.yaml"
    study.write_text(TINY)
    runs = tmp_path/"runs"
    with pytest.raises(MicrosigError, match="run it first|03_labels"):
        run_study(study, out=runs, chapters=["04_baselines"], log=lambda m: None)   # 03 has not stored the dataset
    first = run_study(study, out=runs, log=lambda m: None)
    fitted = re.findall(r"^fitted (\d+) models in", _outputs(first[1]), re.M)
    assert "loaded the stored result" not in _outputs(first[1]) and fitted == ["4"], fitted   # 2 models x 2 targets (move, 10)
    again = run_study(study, out=runs, force=True, log=lambda m: None)             # executed again, same key
    assert "loaded the stored dataset" in _outputs(again[0])
    assert "loaded the stored result (4 fitted models)" in _outputs(again[1])
    assert not re.search(r"^fitted \d+ models in", _outputs(again[1]), re.M)
