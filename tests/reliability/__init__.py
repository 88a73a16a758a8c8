"""Reliability suite: fault soak, races, secrets audit and bad-input sweep (real emulator)."""
