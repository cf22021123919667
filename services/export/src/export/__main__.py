"""`python -m export`: runs the export service."""

from export.config import Settings
from relay_platform.run import serve


def main() -> None:
    serve("export.app:create_app", Settings())


if __name__ == "__main__":
    main()
