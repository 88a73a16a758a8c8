"""Tests of the Pulumi dynamic resources (`plume_provider.resources`)."""
