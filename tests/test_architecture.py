"""The import contracts of pyproject.toml ([tool.importlinter]) hold: in every app `api` sits above
`services`, `services` above `selectors`, `selectors` above `models`, no domain module imports its
own app's `api/`, and the apps keep their order (notifications on top).

`lint-imports` reads the source without importing it, so this needs no database."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LINT], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_domain_module_importing_its_api_breaks_the_contracts(tmp_path):
    """The contracts have teeth: the same tree plus one `api` import in a forum domain module fails."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "apps", tmp_path / "apps", ignore=shutil.ignore_patterns("__pycache__"))
    domain_module = tmp_path / "apps" / "forum" / "ranking.py"
    domain_module.write_text(domain_module.read_text() + "\nfrom apps.forum.api import serializers  # noqa\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0, result.stdout[-6000:]
    assert "forum: no domain module imports forum.api BROKEN" in result.stdout
