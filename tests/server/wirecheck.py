"""Kept for the modules that still import it from here: the checker lives in tests/oracle.py.

harness.py and test_app*.py import ``assert_valid_server_event`` from this path; once they import
it from ``tests.oracle`` this file can go.
"""

from __future__ import annotations

from tests.oracle import assert_valid_server_event, undeclared_keys

__all__ = ["assert_valid_server_event", "undeclared_keys"]
