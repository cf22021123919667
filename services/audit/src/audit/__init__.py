"""Relay audit: An append-only, queryable record of everything that happened in Relay."""
