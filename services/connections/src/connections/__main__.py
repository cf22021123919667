"""`python -m connections`: runs the connections service."""

from connections.config import Settings
from relay_platform.run import serve


def main() -> None:
    serve("connections.app:create_app", Settings())


if __name__ == "__main__":
    main()
