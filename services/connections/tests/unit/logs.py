"""What the connections service's modules log during a block, whatever ran before in the process."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from structlog.testing import capture_logs
from structlog.typing import EventDict

from relay_platform.logging import get_logger


@contextmanager
def captured_logs() -> Iterator[list[EventDict]]:
    """`structlog.testing.capture_logs` for the service's modules. Once a service has started in the
    same process (an integration test), its loggers keep the processors they were first used with, and
    `capture_logs` alone would see nothing of them: each module's logger is a new one meanwhile."""
    with pytest.MonkeyPatch.context() as patch, capture_logs() as logs:
        for name, module in list(sys.modules.items()):
            if name.split(".", 1)[0] == "connections" and hasattr(module, "log"):
                patch.setattr(module, "log", get_logger(name))
        yield logs
