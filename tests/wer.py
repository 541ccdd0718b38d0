"""Word errors for the speech tests (realtalk.testing's, so tests and benchmarks count alike)."""

from realtalk.testing import word_error_rate, word_errors, words

__all__ = ["word_error_rate", "word_errors", "words"]
