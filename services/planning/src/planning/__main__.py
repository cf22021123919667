"""`python -m planning`: runs the planning service."""

from planning.config import Settings
from relay_platform.run import serve


def main() -> None:
    serve("planning.app:create_app", Settings())


if __name__ == "__main__":
    main()
