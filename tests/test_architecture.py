"""The architecture as checks: what web processes load, and (below) the size limits of the code."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

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


# --- sizes ----------------------------------------------------------------------------------------

PRODUCTION = ("services", "api", "worker", "ui", "app_pages", "cli.py", "app.py")
MAX_MODULE_LINES, MAX_CLASS_LINES, MAX_FUNCTION_LINES = 400, 200, 60


def _production_files() -> list[Path]:
    files: list[Path] = []
    for name in PRODUCTION:
        path = ROOT / name
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [f for f in files if "migrations" not in f.parts]


def _too_long() -> list[str]:
    found = []
    for path in _production_files():
        source = path.read_text()
        where = path.relative_to(ROOT)
        if (lines := len(source.splitlines())) > MAX_MODULE_LINES:
            found.append(f"{where}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            limit = {ast.ClassDef: MAX_CLASS_LINES, ast.FunctionDef: MAX_FUNCTION_LINES}.get(type(node))
            if isinstance(node, ast.AsyncFunctionDef):
                limit = MAX_FUNCTION_LINES
            if limit is not None:
                size = node.end_lineno - node.lineno + 1  # type: ignore[attr-defined, operator]
                if size > limit:
                    found.append(f"{where}:{node.lineno} {node.name}: {size} lines")  # type: ignore[attr-defined]
    return found


def test_no_module_over_400_lines_no_class_over_200_no_function_over_60() -> None:
    assert _production_files(), "no production code found"
    assert _too_long() == []
