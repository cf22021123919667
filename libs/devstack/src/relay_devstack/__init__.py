"""Relay's services as local processes: configuration, migration, start, readiness, kill and stop."""

from relay_devstack.stack import SERVICES, Stack, StackConfig

__all__ = ["SERVICES", "Stack", "StackConfig"]
