"""Tests of the generated demo firm: documents, consistency, situations, determinism."""
