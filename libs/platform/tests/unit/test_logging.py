import json
import logging

import pytest

from relay_platform.logging import REDACTED, configure_logging, get_logger, redact

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("access_token", "a1b2c3"),
        ("refresh_token", "r1"),
        ("password", "hunter2"),
        ("Authorization", "Bearer abc"),
        ("x-api-key", "qt_abc"),
        ("client_secret", "s"),
        ("cookie", "admin_session=xyz"),
    ],
)
def test_sensitive_fields_are_redacted_by_name(key: str, value: str) -> None:
    assert redact({key: value}) == {key: REDACTED}


@pytest.mark.parametrize(
    "text",
    [
        f"token was {JWT} sorry",
        "header Bearer abc.def-ghi",
        "key qt_0123456789abcdefghij used",
        "GET /cb?code=abc123&state=x",
        "POST /token?refresh_token=r-123",
    ],
)
def test_secrets_inside_free_text_are_redacted(text: str) -> None:
    redacted = redact(text)
    assert REDACTED in redacted
    for secret in (JWT, "abc.def-ghi", "qt_0123456789abcdefghij", "abc123", "r-123"):
        assert secret not in redacted


def test_nested_structures_are_redacted_and_harmless_fields_kept() -> None:
    payload = {"athlete": {"id": 7, "tokens": [{"access_token": "t"}]}, "token_type": "Bearer", "count": 3}
    assert redact(payload) == {"athlete": {"id": 7, "tokens": REDACTED}, "token_type": "Bearer", "count": 3}


def test_log_lines_are_json_with_service_and_context_and_no_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("example", "INFO")
    log = get_logger("test")
    log.info("token_refreshed", access_token="plain-secret", athlete_id=7, note=f"got {JWT}")
    logging.getLogger("thirdparty").warning("Authorization: Bearer abcdef123")
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert lines[0]["service"] == "example"
    assert lines[0]["event"] == "token_refreshed"
    assert lines[0]["athlete_id"] == 7
    assert lines[0]["access_token"] == REDACTED
    assert JWT not in json.dumps(lines)
    assert "abcdef123" not in json.dumps(lines)
    assert lines[1]["level"] == "warning"
