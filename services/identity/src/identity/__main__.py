"""`python -m identity`: runs the identity service."""

from identity.config import Settings
from relay_platform.run import serve


def main() -> None:
    serve("identity.app:create_app", Settings())


if __name__ == "__main__":
    main()
