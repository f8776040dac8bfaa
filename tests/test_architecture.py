"""The architecture as checks: what web processes load, and (below) the size limits of the code."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import ROOT, child_env

HEAVY = ("torch", "scipy", "sklearn", "celery", "worker", "services.analysis.diarization.diarize")

_LOADED = f"import json, sys; print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"


def _loaded_after(code: str) -> dict[str, bool]:
    """Which of ``HEAVY`` a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{_LOADED}"], cwd=ROOT, env=child_env(), capture_output=True, text=True,
        timeout=120, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_importing_the_api_loads_no_model_scipy_or_celery() -> None:
    assert _loaded_after("import api.main") == dict.fromkeys(HEAVY, False)


def test_opening_the_analyze_page_loads_no_model_scipy_or_celery(tmp_path) -> None:  # type: ignore[no-untyped-def]
    code = (
        "import os\n"
        f"os.environ['DATA_DIR'] = {str(tmp_path)!r}\n"
        f"os.environ['DATABASE_URL'] = 'sqlite:///{tmp_path}/fastaudio.db'\n"
        "from tests.helpers import app_test\n"
        "at = app_test('app_pages/analyze.py')\n"
        "at.run()\n"
        "assert not at.exception and at.title[0].value == 'Analyze a recording', at.exception\n"
    )
    assert _loaded_after(code) == dict.fromkeys(HEAVY, False)
