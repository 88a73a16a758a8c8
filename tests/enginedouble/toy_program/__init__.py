"""Test-only Pulumi project driven by the engine double."""
