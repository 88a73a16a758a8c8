"""Tests of the engine double (`plume_testkit.enginedouble`) on a toy provider."""
