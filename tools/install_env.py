"""Create a virtual environment and install the course into it: what ``make venv`` runs.

Runs with any Python 3.10+ (no third-party packages), before the environment exists::

    python3 tools/install_env.py .venv                       # the locked versions (default)
    python3 tools/install_env.py .venv-lowest --versions lowest
    python3 tools/install_env.py .venv-newest --versions newest
    python3 tools/install_env.py .venv --extra e2e            # add the browser-test extra

Which versions:

* ``locked`` (default): exactly the versions in ``requirements.lock``, so every learner of
  a class, CI and the report get the same environment. The lock is used as a set of
  constraints, so an environment that already holds other versions is moved to them.
* ``lowest``: the lowest versions ``pyproject.toml`` allows for the course's own
  dependencies (uv's ``--resolution lowest-direct``): proof that the lower bounds are true.
* ``newest``: the newest versions it allows, ignoring the lock: what a learner who
  installs into an existing environment next month may get.

Which installer: ``uv`` (fast; installed from PyPI into the new environment at the
version the lock names when it is not there yet) or plain ``pip``, the fallback, used
when uv cannot be installed or when asked for (``--installer pip``). ``lowest`` needs uv.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
VERSIONS = ("locked", "lowest", "newest")
INSTALLERS = ("uv", "pip")


def venv_python(venv: Path) -> Path:
    """The interpreter inside ``venv`` (``bin/python`` on Linux and macOS, ``Scripts\\python.exe`` on Windows)."""
    windows = venv / "Scripts" / "python.exe"
    return windows if windows.exists() or os.name == "nt" else venv / "bin" / "python"


def locked_version(package: str, lock: Path = LOCK) -> str:
    """The version ``lock`` pins for ``package`` (the first line ``package==X``)."""
    if not lock.is_file():
        raise ValueError(f"no lock file at {lock}: regenerate it with `make lock`")
    pattern = re.compile(rf"^{re.escape(package)}==([^\s;]+)", re.IGNORECASE | re.MULTILINE)
    found = pattern.search(lock.read_text())
    if not found:
        raise ValueError(f"{lock.name} pins no version of {package!r}: regenerate it with `make lock`")
    return found.group(1)


def install_command(installer: str, python: Path, versions: str, extras: list[str], lock: Path = LOCK) -> list[str]:
    """The command that installs the course (editable, with ``extras``) into the environment of ``python``."""
    if installer not in INSTALLERS:
        raise ValueError(f"installer must be one of {INSTALLERS}, not {installer!r}")
    if versions not in VERSIONS:
        raise ValueError(f"versions must be one of {VERSIONS}, not {versions!r}")
    if versions == "lowest" and installer == "pip":
        raise ValueError("the lowest versions need uv (pip has no lowest-version resolution)")
    target = f"{ROOT}[{','.join(extras)}]" if extras else str(ROOT)
    if installer == "uv":
        # --compile-bytecode: as pip does; without .pyc files every import compiles torch again (12 s
        # instead of 2 s where PYTHONDONTWRITEBYTECODE is set, and on the first run everywhere)
        command = [str(python), "-m", "uv", "pip", "install", "--python", str(python), "--quiet", "--compile-bytecode"]
    else:
        command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if versions == "locked":
        if not lock.is_file():
            raise ValueError(f"no lock file at {lock}: regenerate it with `make lock`")
        command += ["-c", str(lock)]
    elif versions == "lowest":
        command += ["--resolution", "lowest-direct"]
    else:
        command += ["--upgrade"] + (["--upgrade-strategy", "eager"] if installer == "pip" else [])
    return command + ["-e", target]


def _run(command: list[str]) -> int:
    """Run ``command``, showing it and its output (less pip's notes about unusable index folders)."""
    print("+", " ".join(command), flush=True)
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in done.stdout.splitlines():
        if not line.startswith("WARNING: Location"):
            print(line, flush=True)
    return done.returncode


def bootstrap_uv(python: Path) -> bool:
    """Make ``python -m uv`` work in the environment (pip-install the locked uv); return whether it does."""
    probe = [str(python), "-m", "uv", "--version"]
    if subprocess.run(probe, capture_output=True).returncode == 0:
        return True
    if subprocess.run([str(python), "-m", "pip", "--version"], capture_output=True).returncode != 0:
        _run([str(python), "-m", "ensurepip", "--upgrade"])  # an environment made without pip (uv venv)
    try:
        wanted = f"uv=={locked_version('uv')}"
    except ValueError:
        wanted = "uv"
    code = _run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wanted])
    return code == 0 and subprocess.run(probe, capture_output=True).returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venv", type=Path, help="folder of the virtual environment (created when missing)")
    parser.add_argument("--versions", choices=VERSIONS, default="locked", help="which versions to install")
    parser.add_argument("--installer", choices=INSTALLERS, default=os.environ.get("COURSE_INSTALLER", "uv"),
                        help="uv (default, fast) or pip (fallback); also set by COURSE_INSTALLER")
    parser.add_argument("--extra", action="append", default=None, help="optional extras to install (default: dev)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that creates the environment")
    args = parser.parse_args(argv)
    extras = args.extra or ["dev"]
    python = venv_python(args.venv)
    if not python.exists():
        print(f"creating {args.venv} with {args.python}", flush=True)
        if _run([args.python, "-m", "venv", str(args.venv)]) != 0:
            print(f"could not create a virtual environment with {args.python}", file=sys.stderr)
            return 1
    installer = args.installer
    if installer == "uv" and not bootstrap_uv(python):
        if args.versions == "lowest":
            print("uv could not be installed, and the lowest versions need it", file=sys.stderr)
            return 1
        print("uv could not be installed: falling back to plain pip (slower, same versions)", flush=True)
        installer = "pip"
    try:
        command = install_command(installer, python, args.versions, extras)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1
    if _run(command) != 0:
        return 1
    check = "import torch, torchvision, helpers; print('installed torch', torch.__version__, 'torchvision', torchvision.__version__)"
    return _run([str(python), "-c", check])


if __name__ == "__main__":
    sys.exit(main())
