"""Fail when a run changed the working tree: everything a run writes must be git-ignored.

``python tools/check_clean.py [folder]`` runs ``git status --porcelain`` in ``folder``
(default: the current one), prints what changed and exits 1, or exits 0 when clean.

A learner's checkout is rarely clean (their own edits to notebooks), so the Makefile
records the state first and compares afterwards; only what *the run* changed counts:

    python tools/check_clean.py --record artifacts/tree-before.json   # before the run
    python tools/check_clean.py --since artifacts/tree-before.json    # after it

The record holds each changed path with a hash of its content, so a run that modifies an
already modified file is caught too. On a clean clone (CI) both forms are equally strict.
Used by ``make test``, ``make test-slow``, ``make rerun`` and ``make e2e``.
"""

from __future__ import annotations

import hashlib
import json
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


def snapshot(folder: Path) -> dict[str, str] | None:
    """Return ``{porcelain line: content hash}`` for every change in ``folder`` (``None`` outside git)."""
    found = changes(folder)
    if found is None:
        return None
    state = {}
    for line in found:
        target = folder / line[3:].split(" -> ")[-1].strip('"')
        if target.is_file():
            state[line] = hashlib.sha256(target.read_bytes()).hexdigest()
        else:
            state[line] = "missing" if not target.exists() else "folder"
    return state


def new_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Return the lines of ``after`` that are new, or whose content differs from ``before``."""
    return [line for line, digest in after.items() if before.get(line) != digest]


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    mode, record = None, None
    if args and args[0] in {"--record", "--since"}:
        if len(args) < 2:
            raise ValueError(f"{args[0]} needs a file name, e.g. {args[0]} artifacts/tree-before.json")
        mode, record = args[0], Path(args[1])
        args = args[2:]
    folder = Path(args[0]) if args else Path.cwd()
    state = snapshot(folder)
    if state is None:
        if mode != "--record":
            print(f"not a git checkout ({folder}): the clean-tree check is skipped")
        return 0
    if mode == "--record":
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps(state, indent=1))
        return 0
    before = json.loads(record.read_text()) if mode == "--since" and record.is_file() else {}
    found = new_changes(before, state)
    if found:
        print("the run left files behind; write them under artifacts/ (git-ignored) instead:")
        print("\n".join(f"  {line}" for line in found))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
