"""Shared fixtures for the unit tests."""

from __future__ import annotations

import socket

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture
def lenient(monkeypatch):
    """Run a check the way a learner does: failures print a hint instead of raising."""
    monkeypatch.delenv("COURSE_STRICT_CHECKS", raising=False)


@pytest.fixture
def strict(monkeypatch):
    """Run a check the way the test harness does: failures raise CheckFailed."""
    monkeypatch.setenv("COURSE_STRICT_CHECKS", "1")


@pytest.fixture
def no_network(monkeypatch):
    """Make every attempt to open a connection fail loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
