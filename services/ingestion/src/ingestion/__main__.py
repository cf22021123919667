"""`python -m ingestion`: runs the ingestion service."""

from ingestion.config import Settings
from relay_platform.run import serve


def main() -> None:
    serve("ingestion.app:create_app", Settings())


if __name__ == "__main__":
    main()
