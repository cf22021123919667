"""Relay connections: The athlete's links to providers: OAuth flows, encrypted tokens, refresh, sync history."""
