"""``pip install .`` gives a working ``python -m cimic_geo``: the wheel holds the package and the
files it reads, its metadata declares every third-party import, and an installed copy runs.

The wheel is built without build isolation (setuptools from the test requirements, no network)
from a copy of the sources; the installed copy lives in a new venv whose dependencies come from
the project's environment (a ``.pth`` line), and runs from a folder outside the project.
"""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cimic_geo"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copy(ROOT / "pyproject.toml", src)
    shutil.copytree(PACKAGE, src / "cimic_geo", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "-q", "-w", str(out), str(src)], check=True, capture_output=True, timeout=300)
    (whl,) = out.glob("cimic_geo-*.whl")
    return whl


def _third_party_imports() -> set[str]:
    """Top-level modules imported anywhere in cimic_geo that are neither stdlib nor cimic_geo."""
    found: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("cimic_geo", "__future__")}


def test_wheel_holds_the_package_and_its_data_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    in_tree = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert in_tree <= names, sorted(in_tree - names)
    assert "cimic_geo/maps/js/cop-layers.js" in names  # read at run time by the COP map


def test_metadata_declares_every_third_party_import(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    declared = {re.split(r"[ ;<>=!~\[]", line.split(":", 1)[1].strip())[0].lower().replace("_", "-")
                for line in meta.splitlines() if line.startswith("Requires-Dist:")}
    dists = importlib.metadata.packages_distributions()
    missing = {}
    for module in sorted(_third_party_imports()):
        names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
        if not names & declared:
            missing[module] = sorted(names)
    # osmium (OpenStreetMap extracts) is optional: imported only by `import --osm`, with a message when absent
    missing.pop("osmium", None)
    assert not missing, f"imported but not in [project].dependencies: {missing}"


def test_installed_copy_runs_python_m_cimic_geo(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q",
                    str(wheel)], check=True, capture_output=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CIMIC_DB")}
    where = subprocess.run([str(py), "-c", "import cimic_geo; print(cimic_geo.__file__)"], cwd=tmp_path, env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    assert Path(where).is_relative_to(site), where  # the installed copy, not the project's sources
    out = subprocess.run([str(py), "-m", "cimic_geo", "--help"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "exposure" in out.stdout and "export" in out.stdout
    # a real command through the installed copy: a new store, its spatial extension loaded offline
    db = tmp_path / "installed.duckdb"
    init = subprocess.run([str(env_dir / "bin" / "cimic-geo"), "init", "--db", str(db)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    assert db.exists()
