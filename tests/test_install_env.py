"""The installer behind ``make venv`` (tools/install_env.py) and the lock file it reads.

Pure parts only: the commands it builds and the versions it reads, and the lock's agreement
with pyproject.toml. The real installs run in ``make test-lowest`` / ``make test-newest``
(CI) and in ``make report`` (the set-up cost, from an empty cache).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@pytest.fixture(scope="module")
def installer():
    spec = importlib.util.spec_from_file_location("install_env", ROOT / "tools" / "install_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _direct_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return [Requirement(r) for r in names]


def _pins() -> dict[str, list[str]]:
    """Every version the lock pins for each package (one per Python range where it forks)."""
    pins: dict[str, list[str]] = {}
    for line in LOCK.read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if found:
            pins.setdefault(found.group(1).lower().replace("_", "-"), []).append(found.group(2))
    return pins


def test_locked_install_uses_the_lock_as_constraints(installer, tmp_path):
    python = tmp_path / "bin" / "python"
    uv = installer.install_command("uv", python, "locked", ["dev"])
    assert uv[:6] == [str(python), "-m", "uv", "pip", "install", "--python"]
    assert uv[uv.index("-c") + 1] == str(LOCK)
    assert uv[-2:] == ["-e", f"{ROOT}[dev]"]
    pip = installer.install_command("pip", python, "locked", ["dev", "e2e"])
    assert pip[:4] == [str(python), "-m", "pip", "install"] and "-c" in pip
    assert pip[-1] == f"{ROOT}[dev,e2e]"


def test_lowest_and_newest_ignore_the_lock(installer, tmp_path):
    python = tmp_path / "bin" / "python"
    lowest = installer.install_command("uv", python, "lowest", ["dev"])
    assert "-c" not in lowest and lowest[lowest.index("--resolution") + 1] == "lowest-direct"
    newest = installer.install_command("pip", python, "newest", [])
    assert "-c" not in newest and "--upgrade" in newest and newest[-1] == str(ROOT)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("pip", "lowest"), "lowest versions need uv"),
        (("conda", "locked"), "installer must be one of"),
        (("uv", "oldest"), "versions must be one of"),
    ],
)
def test_bad_choices_are_refused_with_a_reason(installer, tmp_path, args, message):
    with pytest.raises(ValueError, match=message):
        installer.install_command(args[0], tmp_path / "python", args[1], ["dev"])


def test_locked_version_reads_the_lock_and_says_what_to_do(installer, tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==2.2.6 ; python_full_version < '3.11'\n    # via torch\nUV==0.13.9\n")
    assert installer.locked_version("numpy", lock) == "2.2.6"
    assert installer.locked_version("uv", lock) == "0.13.9"  # names are case-insensitive
    with pytest.raises(ValueError, match="pins no version of 'torch'"):
        installer.locked_version("torch", lock)
    with pytest.raises(ValueError, match="make lock"):
        installer.locked_version("torch", tmp_path / "missing.lock")
    with pytest.raises(ValueError, match="no lock file"):
        installer.install_command("uv", tmp_path / "python", "locked", [], lock=tmp_path / "missing.lock")


def test_the_lock_pins_every_direct_dependency_within_its_bounds():
    """A bound moved in pyproject.toml without `make lock` fails here."""
    pins = _pins()
    for requirement in _direct_requirements():
        name = requirement.name.lower().replace("_", "-")
        assert name in pins, f"requirements.lock has no {name}: run `make lock`"
        for version in pins[name]:
            assert requirement.specifier.contains(Version(version), prereleases=True), (
                f"requirements.lock pins {name}=={version}, outside {requirement.specifier}: run `make lock`"
            )


def test_the_lock_keeps_torch_and_torchvision_a_pair_for_every_python():
    pins = _pins()
    assert pins["torchvision"], "torchvision is not locked"
    assert {Version(v).release[:2] for v in pins["torch"]} <= {(2, 14), (2, 15)}
    assert all(Version(v).release[:2] == (0, 29) for v in pins["torchvision"])
    text = LOCK.read_text()
    assert "torch==2.15" in text and "python_full_version >= '3.11'" in text  # 3.11+: the newest pair


@pytest.mark.skipif(os.name == "nt", reason="a bash script, used by the Makefile (no make on Windows)")
def test_find_python_prints_only_a_working_interpreter():
    script = ROOT / "tools" / "find_python.sh"
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    found = subprocess.run(["bash", str(script), here], capture_output=True, text=True, check=True).stdout.strip()
    assert found, f"find_python.sh found no Python {here}, though this test runs on one"
    version = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True)
    assert version.stdout.strip() == str(tuple(sys.version_info[:2]))
    missing = subprocess.run(["bash", str(script), "2.1"], capture_output=True, text=True)
    assert missing.returncode == 0 and missing.stdout == ""
