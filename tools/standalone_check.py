"""Run every learner notebook the way a Colab user meets it: alone, with only the built package.

Used by ``make standalone`` (and CI). In a temporary folder outside the checkout it

1. builds the course package as a wheel (``uv build``, through an sdist) and checks that the wheel carries
   what the notebooks need at run time (the photos, the DDP script) and nothing else of the
   checkout;
2. creates a fresh virtual environment and installs the wheel's dependencies at the locked
   versions (``requirements.lock``), but not the wheel itself;
3. runs the first learner notebook with ``COURSE_PACKAGE_SOURCE`` pointing at the wheel: its
   generated set-up cell must install the package (the path a Colab user takes), keep the
   torch + torchvision already there, and the rest of the notebook must then run;
4. copies every other learner notebook and assignment, each alone, into an empty folder and
   executes it in a fresh kernel of that environment (the set-up cell finds the package
   installed and does nothing), with the notebook's folder as the working directory.

Nothing comes from the checkout but the wheel and the lock: ``COURSE_ROOT`` and ``PYTHONPATH``
(apart from the offline guard of ``make``) are cleared, and the kernels run from folders that
are not inside it. Exit status 0 when every notebook ran, 1 otherwise; ``--keep`` leaves the
temporary folder for inspection.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
PACKAGE = "pytorch-course-helpers"
# files of the checkout that a notebook needs at run time, so they must travel in the wheel
NEEDED_IN_WHEEL = ("helpers/ddp_mnist.py", "helpers/photos_data/MANIFEST.csv", "helpers/photos_data/images/bird/owl.jpg")
# run by the environment's own interpreter: execute one notebook, raise on the first error
RUNNER = """
import sys, nbformat
from nbclient import NotebookClient
path, timeout = sys.argv[1], int(sys.argv[2])
nb = nbformat.read(path, as_version=4)
NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
nbformat.write(nb, path)
"""
# what the set-up cell of a learner version must have done, checked in the same environment
AFTER_INSTALL = """
import json, sys, torch, torchvision, helpers
print(json.dumps({"helpers": helpers.__file__, "torch": torch.__version__, "torchvision": torchvision.__version__}))
"""


def learner_notebooks(notebooks_dir: Path = NOTEBOOKS) -> list[Path]:
    """The learner versions of the lessons, then the assignments, in course order."""
    lessons = sorted((notebooks_dir / "learner").glob("[0-9][0-9]_*.ipynb"))
    assignments = sorted((notebooks_dir / "assignments").glob("A[0-9]*.ipynb"))
    if not lessons:
        raise ValueError(f"no learner versions under {notebooks_dir / 'learner'}: run `make learner`")
    return lessons + assignments


def wheel_problems(wheel: Path) -> list[str]:
    """What is wrong with the built wheel: a needed file missing, or checkout files in it."""
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    problems = [f"the wheel lacks {name}" for name in NEEDED_IN_WHEEL if name not in names]
    strays = sorted(n for n in names if n.split("/")[0] in {"notebooks", "tests", "tools", "data", "scripts"})
    problems += [f"the wheel carries a checkout file: {name}" for name in strays[:5]]
    return problems


def _uv() -> list[str]:
    return [sys.executable, "-m", "uv"]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result


def environment(venv: Path, home: Path) -> dict[str, str]:
    """The environment of the notebooks' kernels: the fresh venv first on PATH, no course paths."""
    env = {k: v for k, v in os.environ.items() if k not in {"COURSE_ROOT", "VIRTUAL_ENV", "PYTHONHOME"}}
    guard = str(ROOT / "tools" / "offline")  # make's offline guard: proof that nothing goes online
    env["PYTHONPATH"] = guard if guard in os.environ.get("PYTHONPATH", "").split(os.pathsep) else ""
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["JUPYTER_PATH"] = ""  # only the kernel of this environment, not one registered elsewhere
    env["JUPYTER_DATA_DIR"] = str(home / "jupyter-data")
    env["JUPYTER_CONFIG_DIR"] = str(home / "jupyter-config")
    env["MPLCONFIGDIR"] = str(home / "matplotlib")
    return env


def build(work: Path) -> tuple[Path, Path]:
    """Build the wheel and the environment that holds its dependencies; return (wheel, python)."""
    dist = work / "dist"
    # an sdist first, then the wheel from it in a temporary folder: no build/ left in the
    # checkout, and a file that the sdist forgets cannot reach the wheel from the checkout
    _run([*_uv(), "build", "--out-dir", str(dist), str(ROOT)])
    wheels = sorted(dist.glob("*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one wheel in {dist}, found {[w.name for w in wheels]}")
    wheel = wheels[0]
    problems = wheel_problems(wheel)
    if problems:
        raise RuntimeError("; ".join(problems))
    venv = work / "venv"
    _run([*_uv(), "venv", "--seed", "--quiet", "--python", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    lock = ["-c", str(ROOT / "requirements.lock")]
    _run([*_uv(), "pip", "install", "--quiet", "--python", str(python), *lock, str(wheel)])
    _run([*_uv(), "pip", "uninstall", "--quiet", "--python", str(python), PACKAGE])  # the set-up cell installs it
    return wheel, python


def execute(notebook: Path, folder: Path, python: Path, env: dict[str, str], timeout: int) -> float:
    """Copy ``notebook`` alone into the empty ``folder`` and execute it there; return seconds."""
    folder.mkdir(parents=True)
    copy = folder / notebook.name
    shutil.copyfile(notebook, copy)
    started = time.monotonic()
    _run([str(python), "-c", RUNNER, copy.name, str(timeout)], cwd=folder, env=env)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="learner notebooks (default: all, lessons then assignments)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds allowed per cell")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    notebooks = [p.resolve() for p in args.notebooks] or learner_notebooks()
    work = Path(tempfile.mkdtemp(prefix="course-standalone-"))
    if work.resolve().is_relative_to(ROOT):
        print(f"the temporary folder {work} lies inside the checkout: set TMPDIR elsewhere")
        return 1
    failures = 0
    try:
        started = time.monotonic()
        wheel, python = build(work)
        env = environment(python.parent.parent, work)
        before = json.loads(_run([str(python), "-c", "import json, torch, torchvision; print(json.dumps("
                                  "{'torch': torch.__version__, 'torchvision': torchvision.__version__}))"],
                                 env=env).stdout)
        print(f"wheel {wheel.name} and a fresh environment with its dependencies ({time.monotonic() - started:.0f} s); "
              f"torch {before['torch']}, torchvision {before['torchvision']}", flush=True)
        for index, notebook in enumerate(notebooks):
            label = notebook.relative_to(ROOT) if notebook.is_relative_to(ROOT) else notebook
            run_env = {**env, "COURSE_PACKAGE_SOURCE": str(wheel)} if index == 0 else env
            try:
                seconds = execute(notebook, work / "run" / f"{index:02d}-{notebook.stem}", python, run_env, args.timeout)
            except RuntimeError as err:
                failures += 1
                print(f"FAIL  {label}: {str(err)[-2500:]}", flush=True)
                if index == 0:
                    break  # without the package installed, the other notebooks cannot run either
                continue
            note = ""
            if index == 0:  # the set-up cell installed the wheel and left torch alone
                after = json.loads(_run([str(python), "-c", AFTER_INSTALL], env=env, cwd=work).stdout)
                if not Path(after["helpers"]).resolve().is_relative_to(python.parent.parent.resolve()):
                    failures += 1
                    print(f"FAIL  {label}: helpers was imported from {after['helpers']}, not the fresh environment")
                if (after["torch"], after["torchvision"]) != (before["torch"], before["torchvision"]):
                    failures += 1
                    print(f"FAIL  {label}: the set-up cell changed torch/torchvision: {before} -> {after}")
                note = ", its set-up cell installed the wheel and kept torch"
            print(f"ok    {label}: ran alone in an empty folder ({seconds:.0f} s{note})", flush=True)
        print(f"{len(notebooks) - failures} of {len(notebooks)} notebooks ran on their own "
              f"({time.monotonic() - started:.0f} s in all)")
    except RuntimeError as err:
        print(f"FAIL  {err}")
        return 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
