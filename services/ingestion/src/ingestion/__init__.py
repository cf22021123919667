"""Relay ingestion: Provider webhooks, polling and backfill; activities normalized and deduplicated."""
