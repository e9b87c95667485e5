"""Batches (contract 1d): many users reset in one call, one queue message per user."""
