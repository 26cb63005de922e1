"""Fail when the working tree has changes: everything a run writes must be git-ignored.

``python tools/check_clean.py [folder]`` runs ``git status --porcelain`` in ``folder``
(default: the current one), prints what changed and exits 1, or exits 0 when clean.
Used by ``make test``, ``make rerun`` and ``make e2e`` after they have run the notebooks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def changes(folder: Path) -> list[str] | None:
    """Return ``git status --porcelain`` lines for ``folder`` (untracked files included).

    ``None`` when ``folder`` is not in a git checkout (a course downloaded as a zip).
    """
    if not folder.is_dir():
        raise ValueError(f"no folder at {folder}")
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:  # no git on this machine
        return None
    if result.returncode != 0:
        return None
    return [line for line in result.stdout.splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else Path.cwd()
    found = changes(folder)
    if found is None:
        print(f"not a git checkout ({folder}): the clean-tree check is skipped")
        return 0
    if found:
        print("the run left files behind; write them under artifacts/ (git-ignored) instead:")
        print("\n".join(f"  {line}" for line in found))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
