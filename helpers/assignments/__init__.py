"""Checks for the graded assignments A1–A3, plus the data that A2 is set on.

Every ``check_*`` function runs the learner's answer itself, on inputs it builds
(several shapes, seeds and configurations), prints one line (✓, a specific hint, or
"not done yet") and returns a bool. A check never raises for a wrong or missing
answer and never lets an exception from the learner's code escape (it reports it),
except in strict mode (``COURSE_STRICT_CHECKS=1``), where a failure raises
``helpers.checks.CheckFailed`` after printing. Checks test behaviour, not spelling:
any correct answer passes.

Layout, one module per assignment (as ``helpers.exercises`` has one per lesson):

- ``a1``: ``check_a1_task1`` … ``check_a1_task5`` (A1 · Fundamentals);
- ``a2``: ``a2_data``, ``evaluate_a2``, ``check_a2_preprocess``, ``check_a2`` and the
  ``A2_*`` constants (A2 · Transfer learning);
- ``a3``: ``a3_training_data``, ``check_a3_task1`` … ``check_a3_task3`` and the ``A3_*``
  constants (A3 · Ship it);
- ``_common``: private utilities the three share.

Every public name is re-exported here, so notebooks import from ``helpers.assignments``.
The pass marks (``A2_MIN_ACCURACY``, ``A3_MIN_ACCURACY``) only document the marks: each
check binds its mark when its module is imported (a keyword-only ``_mark`` default), so
rebinding a constant later changes nothing. Tests that need another mark patch the
check's ``__wrapped__.__kwdefaults__``.

Introduced in assignment A1.
"""

from helpers.assignments.a1 import (
    check_a1_task1,
    check_a1_task2,
    check_a1_task3,
    check_a1_task4,
    check_a1_task5,
)
from helpers.assignments.a2 import (
    A2_CLASSES,
    A2_MAX_SHOTS,
    A2_MIN_ACCURACY,
    a2_data,
    check_a2,
    check_a2_preprocess,
    evaluate_a2,
)
from helpers.assignments.a3 import (
    A3_INPUT_NAME,
    A3_MIN_ACCURACY,
    A3_OUTPUT_NAME,
    A3_TRAIN_SIZE,
    a3_training_data,
    check_a3_task1,
    check_a3_task2,
    check_a3_task3,
)

__all__ = [
    "check_a1_task1",
    "check_a1_task2",
    "check_a1_task3",
    "check_a1_task4",
    "check_a1_task5",
    "A2_CLASSES",
    "A2_MAX_SHOTS",
    "A2_MIN_ACCURACY",
    "a2_data",
    "evaluate_a2",
    "check_a2_preprocess",
    "check_a2",
    "A3_INPUT_NAME",
    "A3_OUTPUT_NAME",
    "A3_MIN_ACCURACY",
    "A3_TRAIN_SIZE",
    "a3_training_data",
    "check_a3_task1",
    "check_a3_task2",
    "check_a3_task3",
]
