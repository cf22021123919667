"""Relay identity: Athletes (Strava login), tokens, profiles, API keys, admin accounts and roles."""
