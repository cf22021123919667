"""Schemas of the `data` of each event, one module per producing service."""
