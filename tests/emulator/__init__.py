"""Conformance, robustness and runner tests of plume_emulator."""
