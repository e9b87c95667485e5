"""Tests of the local service emulators in dev/emulators."""
