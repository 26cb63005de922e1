"""Exercise checks, one module per lesson (``lesson01``, ``lesson02``, …).

Each function takes the learner's answer, prints ✓ or a specific hint through
``helpers.checks.report`` and returns a bool. The references live here rather than
in the notebook so that the learner version does not show the answer next to the
exercise.
"""
