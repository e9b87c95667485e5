"""Specs of the operator commands (python3 -m ops)."""
