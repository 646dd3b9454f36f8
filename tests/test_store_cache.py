"""Chapters hand results on through the store: a rerun with the same key loads instead of training, and a later
chapter whose upstream result is missing says which chapter to run."""
import json
from pathlib import Path
import pytest
from microsig.cli import run_study
from microsig.data import MicrosigError

def _outputs(nb:Path)->str:
    return "".join(o.get("text", "") if isinstance(o.get("text", ""), str) else "".join(o["text"])
                   for c in json.loads(nb.read_text())["cells"] for o in c.get("outputs", []) if o.get("output_type") == "stream")

def test_a_rerun_loads_what_was_stored(tmp_path):
    study = tmp_path/"tiny.yaml"
    study.write_text("title: tiny\nchapters: [03_labels, 04_baselines]\n"
                     "parameters: {n_events: 60000, mode: martingale, signal: 0.6, horizons: [10]}\n")
    runs = tmp_path/"runs"
    with pytest.raises(MicrosigError, match="run it first|03_labels"):
        run_study(study, out=runs, chapters=["04_baselines"], log=lambda m: None)   # 03 has not stored the dataset
    first = run_study(study, out=runs, log=lambda m: None)
    assert "loaded the stored result" not in _outputs(first[1])
    again = run_study(study, out=runs, force=True, log=lambda m: None)             # executed again, same key
    assert "loaded the stored dataset" in _outputs(again[0]) and "loaded the stored result" in _outputs(again[1])
