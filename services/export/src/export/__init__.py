"""Relay export: Structured workouts as FIT files and Garmin workout JSON, pushed to COROS and Garmin."""
