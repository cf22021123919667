"""Tables of the identity service's own database."""

from relay_platform.consumers import ProcessedMessage
from relay_platform.outbox import OutboxMessage

__all__ = ["OutboxMessage", "ProcessedMessage"]
