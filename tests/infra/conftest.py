"""Fixtures shared by the modules of tests/infra."""

from functions import landed_bucket  # noqa: F401  (a fixture, found by name)
