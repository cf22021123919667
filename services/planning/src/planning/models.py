"""Tables of the planning service's own database."""

from relay_platform.consumers import ProcessedMessage
from relay_platform.outbox import OutboxMessage

__all__ = ["OutboxMessage", "ProcessedMessage"]
