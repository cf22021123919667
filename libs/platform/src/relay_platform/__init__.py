"""Relay's platform kit: what every service is built on, so that no service re-invents it."""
