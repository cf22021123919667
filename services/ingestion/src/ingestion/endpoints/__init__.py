"""HTTP endpoints of the ingestion service: the providers' webhooks, and the athletes' activities."""

from ingestion.endpoints import activities, merges, syncs, webhooks

routers = [webhooks.router, syncs.router, activities.router, merges.router]
