"""ASGI pieces the fakes' edges share: reading a request's body before the app does, handing it to the
app again, and reading the parts of a multipart body (the fakes run without python-multipart)."""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP

from starlette.types import Message, Receive


@dataclass(frozen=True)
class FormPart:
    """One part of a multipart/form-data body: its bytes, and the file name when it is a file."""

    content: bytes
    filename: str | None = None


def multipart_parts(content_type: str, body: bytes) -> dict[str, FormPart]:
    """The named parts of a multipart/form-data body (the last one wins when a name repeats); empty when
    the body is not multipart or has no boundary."""
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data" or not body:
        return {}
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    parts: dict[str, FormPart] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = FormPart(content=payload, filename=part.get_filename())
    return parts


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay_body(body: bytes, then: Receive) -> Receive:
    """Gives the body already read once more, then whatever the connection says (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive
