from audit.service import payload_digest, trace_id_of
from relay_contracts import Envelope


def test_the_payload_digest_depends_on_the_content_not_on_key_order() -> None:
    a = Envelope(
        type="planning.program.generated", producer="planning", subject="u", data={"a": 1, "b": [1, 2]}
    )
    b = Envelope(
        type="planning.program.generated", producer="planning", subject="u", data={"b": [1, 2], "a": 1}
    )
    c = Envelope(
        type="planning.program.generated", producer="planning", subject="u", data={"a": 2, "b": [1, 2]}
    )
    assert payload_digest(a) == payload_digest(b) != payload_digest(c)


def test_the_trace_id_is_read_from_the_envelopes_traceparent() -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    event = Envelope(
        type="a.b.created", producer="a", subject="s", traceparent=f"00-{trace}-00f067aa0ba902b7-01"
    )
    assert trace_id_of(event) == trace
    assert trace_id_of(Envelope(type="a.b.created", producer="a", subject="s")) is None
