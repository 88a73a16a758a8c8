"""Test suite (a package so test helpers import as ``tests.*``)."""
