"""The benchmark report: the whole machinery on its quick configuration, and its small pure functions."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import nbformat
import pytest

from benchmarks import ROOT
from benchmarks.learning import FIGURES, Figure, collect_learning_results, find_figure
from benchmarks.machine import CpuMeter, describe_machine
from benchmarks.notebooks_timing import (
    CellTime,
    NotebookResult,
    NotebookRun,
    cell_times,
    default_notebooks,
    is_lesson,
    resolve_notebooks,
    stdout_text,
)
from benchmarks.recipes import Budget, pair_ratios
from benchmarks.report import SECTION_TITLES, Config, Report, main, parse_args, render
from benchmarks.setup_cost import disk_usage_bytes, largest_entries, measure_setup_cost, redact_url
from benchmarks.stats import (
    as_numbers,
    format_bytes,
    format_ms,
    format_seconds,
    iqr,
    median,
    pairwise_ratios,
    quartiles,
    ratio,
    summarize,
)


# --------------------------------------------------------------------------- the quick run, end to end
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_quick_report_writes_every_section_table_and_chart(tmp_path):
    notebook = ROOT / "notebooks" / "01_tensors.ipynb"
    before = _digest(notebook)

    assert main(["--quick", "--out", str(tmp_path)]) == 0

    text = (tmp_path / "REPORT.md").read_text(encoding="utf-8")
    for title in SECTION_TITLES.values():
        assert f"\n{title}\n" in text, f"missing heading {title!r}"
    assert "**Machine:**" in text and "logical cores" in text and "torch " in text and "Python " in text
    assert "quick configuration" in text
    assert "| notebooks/01_tensors.ipynb |" in text  # section 1 row
    assert "| **Total (1 notebook)** |" in text
    assert "| MLP, lesson 04 loop" in text and "not run" in text  # section 2 rows, notebooks not run
    for recipe in ("course MLP", "course CNN", "classic MLP", "classic LeNet"):
        assert f"| {recipe} |" in text, f"missing recipe row {recipe!r}"
    assert "| course CNN / classic LeNet |" in text
    assert "| **fit / bare ratio** |" in text
    assert "\n| 1 | " in text and "\n| 32 | " in text  # section 5, both batch sizes
    assert "Quick mode: the course's set-up was not measured" in text
    assert "failed" not in text.lower()
    for png in ("notebooks.png", "recipes.png", "latency.png"):
        path = tmp_path / png
        assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
        assert f"]({png})" in text
    assert _digest(notebook) == before, "the executed notebook must never be written back"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["REPORT.md", "latency.png", "notebooks.png", "recipes.png"]


def test_render_marks_failed_sections_and_keeps_all_headings():
    report = Report(config=Config.quick(), machine=describe_machine(), failures={3: "RuntimeError: boom"})
    text = render(report)
    assert all(title in text for title in SECTION_TITLES.values())
    assert "**This section failed:** `RuntimeError: boom`" in text
    assert "section(s) 3 failed" in text


def test_render_says_plainly_when_the_run_time_goals_are_missed():
    runs = [
        NotebookRun("notebooks/05_data_pipelines.ipynb", 75.0, 2**30, 70.0, 72.0,
                    [CellTime(7, 40.0, "for epoch in range(3):")]),
        NotebookRun("notebooks/09_going_further.ipynb", 300.0, 2**30, 150.0, 290.0, []),
        NotebookRun("notebooks/assignments/solutions/A3_ship_it.ipynb", 50.0, 2**29, 45.0, 47.0, []),
    ]
    report = Report(config=Config.quick(), machine=describe_machine(), all_notebooks=True,
                    notebooks=[NotebookResult(run.notebook, [run]) for run in runs])
    text = render(report)
    assert "Per-lesson goal **missed** by 2 of 2 lessons" in text
    assert "slowest cell `for epoch in range(3):` 40.0 s" in text
    assert "Whole-course goal **missed**: the 3 notebooks took 7 min 05 s" in text
    assert "What limits it: the three slowest notebooks make up 100% of the total" in text
    assert "| Every lesson under 60 s | slowest: 09_going_further 300.0 s | **no** |" in text


# --------------------------------------------------------------------------- configuration and command line
def test_config_presets_and_bad_values():
    assert Config.full().notebook_paths() == default_notebooks()
    assert Config.quick().setup == "bare-venv"
    with pytest.raises(ValueError, match="repeats must be a positive int, got 0"):
        Config.full(repeats=0)
    with pytest.raises(ValueError, match="budget_s must be a positive number"):
        Config.quick(budget_s=-1)
    with pytest.raises(ValueError, match="setup must be"):
        Config.full(setup="sometimes")
    with pytest.raises(ValueError, match="not an existing .ipynb"):
        Config.full(notebooks=(Path("no/such.ipynb"),))


def test_command_line(tmp_path, capsys):
    config, out = parse_args(["--quick", "--skip-setup", "--repeats", "3"])
    assert config.quick_mode and config.setup == "skipped" and config.repeats == 3
    assert out == ROOT / "artifacts" / "report-quick"  # quick mode never overwrites reports/
    config, out = parse_args(["--out", str(tmp_path), "--notebooks", "notebooks/01_tensors.ipynb"])
    assert out == tmp_path and config.notebooks == ((ROOT / "notebooks" / "01_tensors.ipynb").resolve(),)
    assert parse_args([])[1] == ROOT / "reports"
    for bad in (["--repeats", "0"], ["--budget", "soon"], ["--notebooks", "missing.ipynb"]):
        with pytest.raises(SystemExit):
            parse_args(bad)
    assert "expected a positive" in capsys.readouterr().err


# --------------------------------------------------------------------------- stats
def test_median_quartiles_iqr_match_numpy():
    np = pytest.importorskip("numpy")
    values = [3.0, 1.0, 4.0, 1.5, 9.0, 2.6]
    assert median(values) == pytest.approx(np.median(values))
    assert quartiles(values) == pytest.approx(tuple(np.percentile(values, [25, 50, 75])))
    assert iqr(values) == pytest.approx(np.percentile(values, 75) - np.percentile(values, 25))
    assert quartiles([2.5]) == (2.5, 2.5, 2.5) and iqr([2.5]) == 0


def test_summary_and_ratios():
    s = summarize([1, 2, 3, 4, 100])
    assert (s.n, s.median, s.minimum, s.maximum) == (5, 3, 1, 100)
    assert s.iqr == pytest.approx(2.0)
    assert ratio(3, 2) == 1.5
    assert pairwise_ratios([2, 3], [1, 4]) == [2.0, 0.75]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: median([]), "is empty"),
        (lambda: median("123"), "must be a list of numbers"),
        (lambda: median([1, float("nan")]), "finite numbers"),
        (lambda: as_numbers([1, True]), "finite numbers"),
        (lambda: ratio(1, 0), "denominator must be positive"),
        (lambda: pairwise_ratios([1, 2], [1]), "2 numerators but 1 denominators"),
        (lambda: format_seconds(-1), "must be >= 0"),
        (lambda: format_bytes(-5), "must be >= 0"),
    ],
)
def test_stats_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_formatting():
    assert format_seconds(12.34) == "12.3 s"
    assert format_seconds(245) == "4 min 05 s"
    assert format_ms(0.00712) == "7.12 ms" and format_ms(1.2) == "1200 ms"
    assert format_bytes(512) == "512 B" and format_bytes(3 * 2**20) == "3 MiB"
    assert format_bytes(6.5 * 2**30) == "6.50 GiB"


# --------------------------------------------------------------------------- learning results (section 2)
PRINTED = """device: cpu
epoch 5
  train loss 0.158 | test loss 0.194 | test accuracy 0.943
test accuracy 0.943 after 2.1 s of training (2.1 s of CPU time)
"""


def test_find_figure_reads_named_numbers():
    assert find_figure(PRINTED, FIGURES[0].pattern) == {"value": 0.943, "seconds": 2.1}


def test_find_figure_fails_loudly_when_the_line_is_gone():
    with pytest.raises(ValueError, match=r"notebooks/04_training.ipynb: no printed line matches .*update the pattern"):
        find_figure("test accuracy: 94.3 %", FIGURES[0].pattern, "notebooks/04_training.ipynb")
    with pytest.raises(ValueError, match="named group"):
        find_figure(PRINTED, r"accuracy (\d)")
    with pytest.raises(ValueError, match="invalid pattern"):
        find_figure(PRINTED, r"(?P<value>")
    with pytest.raises(ValueError, match="must be a str"):
        find_figure(None, FIGURES[0].pattern)


def test_collect_learning_results_marks_notebooks_not_run():
    figure = Figure("demo", "notebooks/99_demo.ipynb", r"score (?P<value>\d+(?:\.\d+)?)%", unit="percent")
    (result,) = collect_learning_results({}, (figure,))
    assert not result.measured and result.value_text() == "not run"
    (result,) = collect_learning_results({"notebooks/99_demo.ipynb": "score 97.5%\n"}, (figure,))
    assert result.value_text() == "97.5 %" and result.seconds_text() == ""
    with pytest.raises(ValueError, match="99_demo"):
        collect_learning_results({"notebooks/99_demo.ipynb": "no score today\n"}, (figure,))


def test_every_figure_matches_the_committed_notebook_outputs():
    """The notebooks are committed with their outputs: the patterns must still find every figure there."""
    outputs = {f.notebook: stdout_text(nbformat.read(ROOT / f.notebook, as_version=4)) for f in FIGURES}
    results = collect_learning_results(outputs)
    assert all(r.measured for r in results)
    assert all(0 < r.values["value"] < 100 for r in results)


# --------------------------------------------------------------------------- notebook execution helpers (section 1)
def test_stdout_text_and_cell_times_from_a_notebook_in_memory():
    nb = nbformat.v4.new_notebook()
    first = nbformat.v4.new_code_cell("print('a')\nprint('b')")
    first.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text="b"),
    ]
    first.metadata["execution"] = {
        "iopub.execute_input": "2024-01-01T00:00:01.000000Z",
        "shell.execute_reply": "2024-01-01T00:00:03.500000Z",
    }
    nb.cells = [nbformat.v4.new_markdown_cell("# title"), first, nbformat.v4.new_code_cell("x = 1")]
    assert stdout_text(nb) == "a\nb\n"
    (timing,) = cell_times(nb)
    assert (timing.index, timing.seconds, timing.first_line) == (1, 2.5, "print('a')")


def test_notebook_selection():
    paths = default_notebooks()
    assert paths[0].name == "00_getting_started.ipynb" and paths[-1].parent.name == "solutions"
    assert is_lesson("notebooks/04_training.ipynb") and not is_lesson("notebooks/assignments/solutions/A1_fundamentals.ipynb")
    with pytest.raises(ValueError, match="not found"):
        resolve_notebooks(["notebooks/99_nothing.ipynb"])
    with pytest.raises(ValueError, match="not a notebook"):
        resolve_notebooks(["README.md"])
    with pytest.raises(ValueError, match="no notebooks given"):
        resolve_notebooks([])


# --------------------------------------------------------------------------- recipes, machine, set-up cost
def test_budget_stops_the_batches():
    with pytest.raises(ValueError, match="positive number of seconds"):
        Budget(0)
    budget = Budget(1e-9)
    with pytest.raises(ValueError, match="call start"):
        budget.spent()
    budget.start()
    counter = [0]
    assert list(budget.batches(range(100), counter)) == [] and counter == [0]
    assert pair_ratios([]) == []


def _busy_for(cpu_seconds: float, limit_s: float = 30.0) -> None:
    """Keep this process computing until it has used ``cpu_seconds`` of CPU time.

    A fixed amount of work is no good: the kernel counts CPU time in ticks (10 ms on
    many machines), so 8 ms of work may be counted as 0, and a loaded machine stretches
    any wall-clock budget. Waiting for the counter itself works on any machine and load.
    """
    start, deadline = time.process_time(), time.monotonic() + limit_s
    while time.process_time() - start < cpu_seconds:
        sum(i * i for i in range(20_000))
        if time.monotonic() > deadline:
            raise AssertionError(f"this process got less than {cpu_seconds} s of CPU in {limit_s} s")


def test_cpu_meter_counts_this_process():
    with CpuMeter() as meter:
        _busy_for(0.05)  # five ticks of the coarsest clock seen
    usage = meter.usage
    assert usage.wall_s > 0 and usage.own_s > 0 and usage.others_s >= 0 and 0 <= usage.others_share
    assert "other programs used" in usage.sentence()


def test_disk_usage_counts_hard_links_once(tmp_path):
    (tmp_path / "a").mkdir()
    data = tmp_path / "a" / "data.bin"
    data.write_bytes(b"x" * 100_000)
    empty = disk_usage_bytes(tmp_path / "a") - disk_usage_bytes(data)
    try:
        os.link(data, tmp_path / "a" / "again.bin")
    except OSError:
        pytest.skip("hard links not supported here")
    assert disk_usage_bytes(tmp_path / "a") - empty == disk_usage_bytes(data) >= 100_000
    (tmp_path / "b.txt").write_text("small")
    assert [name for name, _ in largest_entries(tmp_path, 1)] == ["a"]
    with pytest.raises(ValueError, match="does not exist"):
        disk_usage_bytes(tmp_path / "missing")
    with pytest.raises(ValueError, match="not a folder"):
        largest_entries(data)


def test_redact_url_removes_credentials():
    assert redact_url("https://user:secret@example.org/simple file:///opt/pypi") == (
        "https://***@example.org/simple file:///opt/pypi"
    )
    assert redact_url("/opt/wheels") == "/opt/wheels"


def test_setup_cost_modes():
    skipped = measure_setup_cost("skipped")
    assert skipped.mode == "skipped" and "--skip-setup" in skipped.reason
    with pytest.raises(ValueError, match="mode must be"):
        measure_setup_cost("sometimes")
    with pytest.raises(ValueError, match="cache must be"):
        measure_setup_cost("full", cache="lukewarm")
