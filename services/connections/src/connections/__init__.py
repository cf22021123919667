"""Relay connections: the athlete's links to providers.

OAuth flows, encrypted tokens, refresh, sync history."""
