"""Shared test fixtures: paths, and the tests folder on sys.path for the fake adapter."""

import os
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

pytest_plugins = ["pytester"]


@pytest.fixture
def root():
    return ROOT


@pytest.fixture
def fake_env(monkeypatch):
    """Let worker processes import tests/fake_adapter.py."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([TESTS, ROOT, os.environ.get("PYTHONPATH", "")]))
