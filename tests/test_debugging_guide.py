"""notebooks/DEBUGGING.md: every lesson section it sends a learner to exists, and hints point to it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from helpers.checks import DEBUGGING_GUIDE

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / DEBUGGING_GUIDE
# "03, "Which modules expect a batch?"" or "04, section 5, "A debugging checklist""
REFERENCE = re.compile(r'\b(0[0-9]), (?:section \d+, )?"([^"]+)"')
# a bare "04, section 4" (no heading named)
SECTION = re.compile(r"\b(0[0-9]), section (\d+)\b")


def _headings(number: str) -> list[str]:
    (path,) = sorted((ROOT / "notebooks").glob(f"{number}_*.ipynb"))
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return [line.lstrip("#").strip() for line in text.splitlines() if line.startswith("#")]


def _references() -> list[tuple[str, str]]:
    text = GUIDE.read_text(encoding="utf-8").replace("\n   ", " ")
    found = REFERENCE.findall(text)
    # "03, "X"; "Y"" cites a second heading of the same lesson
    for number, _first, rest in re.findall(r'\b(0[0-9]), "([^"]+)"((?:; "[^"]+")+)', text):
        found += [(number, extra) for extra in re.findall(r'"([^"]+)"', rest)]
    return found


def test_the_guide_exists_and_cites_every_lesson_00_to_04():
    assert GUIDE.is_file()
    cited = {number for number, _ in _references()}
    assert cited >= {"00", "01", "02", "03", "04"}


@pytest.mark.parametrize(("number", "heading"), sorted(set(_references())))
def test_every_cited_section_exists(number, heading):
    headings = _headings(number)
    assert any(heading in h for h in headings), f"lesson {number} has no heading containing {heading!r}"


def test_every_cited_section_number_exists():
    text = GUIDE.read_text(encoding="utf-8")
    for number, section in SECTION.findall(text):
        assert any(h.startswith(f"{section}. ") for h in _headings(number)), (number, section)


def test_the_bug_hunt_hint_points_to_the_guide(lenient, capsys):
    from helpers.exercises.lesson04 import check_training_loop

    def untouched(model, train_loader, val_loader, loss_fn, optimizer, num_epochs):
        for _ in range(num_epochs):
            for X, y in train_loader:
                loss = loss_fn(model(X).softmax(dim=1), y)
                loss.backward()
                optimizer.step()
        return 0.5

    assert check_training_loop(untouched) is False
    assert DEBUGGING_GUIDE in capsys.readouterr().out
