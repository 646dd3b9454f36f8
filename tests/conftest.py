"Tests track their runs in a throw-away MLflow store, never in the project's mlruns.db."
import os, tempfile
from pathlib import Path

_store = Path(tempfile.mkdtemp(prefix="microsig-mlflow-"))
os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{_store/'mlruns.db'}")
