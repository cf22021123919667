"""Relay planning: Onboarding, periodized training programs, sessions, compliance and training load."""
