"""Lifecycle scenarios of the lab stack through the engine double and the emulator."""
