"""`python -m audit`: runs the audit service."""

from audit.config import Settings
from relay_platform.run import serve


def main() -> None:
    serve("audit.app:create_app", Settings())


if __name__ == "__main__":
    main()
