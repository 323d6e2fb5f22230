"""The container port's HTTP/1.1 parser and response writer (container_http.py), byte by byte."""

from __future__ import annotations

import pytest

from orchestrator.dataplane.sagemaker import container_http as http1


def parse_all(data: bytes, step: int | None = None) -> list[http1.HttpRequest]:
    """Every complete request in `data`, fed all at once or `step` bytes at a time."""
    parser = http1.RequestParser()
    out: list[http1.HttpRequest] = []
    chunks = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for chunk in chunks:
        parser.feed(chunk)
        while True:
            req, _ = parser.next_request()
            if req is None:
                break
            out.append(req)
    assert not parser.partial
    return out


POST = b'POST /invocations?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"sentence":1'


def test_one_request_with_its_headers_and_body() -> None:
    [req] = parse_all(POST)
    assert (req.method, req.path, req.body, req.keep_alive) == ("POST", "/invocations", b'{"sentence":1', True)
    assert req.headers["content-type"] == "application/json"  # names are lower-cased


@pytest.mark.parametrize("step", [None, 1, 7])
def test_pipelined_requests_in_any_split(step: int | None) -> None:
    second = b"GET /ping HTTP/1.1\r\n\r\n"
    third = b"POST /invocations HTTP/1.1\r\nContent-Length: 2\r\n\r\nok"
    reqs = parse_all(POST + second + third, step)
    assert [(r.method, r.path, r.body) for r in reqs] == [
        ("POST", "/invocations", b'{"sentence":1'),
        ("GET", "/ping", b""),
        ("POST", "/invocations", b"ok"),
    ]


def test_partial_means_a_message_is_on_its_way() -> None:
    parser = http1.RequestParser()
    assert not parser.partial
    parser.feed(POST[:20])
    assert parser.partial
    assert parser.next_request() == (None, False)
    parser.feed(POST[20:])
    req, _ = parser.next_request()
    assert req is not None and not parser.partial


@pytest.mark.parametrize("step", [None, 1, 5])
def test_chunked_body_with_extensions_and_trailers(step: int | None) -> None:
    data = (
        b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
        b"GET /ping HTTP/1.1\r\n\r\n"
    )
    reqs = parse_all(data, step)
    assert [r.body for r in reqs] == [b"hello world", b""]


def test_connection_semantics_of_1_0_and_1_1() -> None:
    reqs = parse_all(
        b"GET /ping HTTP/1.1\r\nConnection: close\r\n\r\n"
        b"GET /ping HTTP/1.0\r\n\r\n"
        b"GET /ping HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    )
    assert [r.keep_alive for r in reqs] == [False, False, True]


def test_expect_100_continue_is_owed_once_and_only_while_the_body_is_missing() -> None:
    parser = http1.RequestParser()
    parser.feed(b"POST /invocations HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
    assert parser.next_request() == (None, True)
    assert parser.next_request() == (None, False)  # already owed: not twice
    parser.feed(b"data")
    req, owe = parser.next_request()
    assert req is not None and req.body == b"data" and not owe
    parser.feed(b"POST /invocations HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok")
    req, owe = parser.next_request()  # the body came with the head: nothing is owed
    assert req is not None and not owe


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"POST /invocations HTTP/1.1\r\nContent-Length: 7340032\r\n\r\n", 413),
        (b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n700001\r\n", 413),
        (b"POST /invocations HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        (b"POST /invocations HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400),
        (b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"POST /invocations HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX", 400),
        (b"NONSENSE\r\n\r\n", 400),
        (b"GET /ping HTTP/2\r\n\r\n", 400),
        (b"GET /ping HTTP/1.1\r\nno colon here\r\n\r\n", 400),
        (b"GET /ping HTTP/1.1\r\nX-Big: " + b"a" * (http1.MAX_HEADER_BYTES + 10), 431),
    ],
)
def test_requests_that_cannot_be_served_name_the_fault(data: bytes, status: int) -> None:
    parser = http1.RequestParser()
    parser.feed(data)
    with pytest.raises(http1.HttpError) as err:
        parser.next_request()
    assert err.value.status == status and err.value.message


def test_the_largest_allowed_body_is_accepted() -> None:
    body = b"x" * http1.MAX_BODY_BYTES
    [req] = parse_all(b"POST /invocations HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert len(req.body) == http1.MAX_BODY_BYTES


def test_response_is_well_formed_and_cannot_be_split_by_a_handler_value() -> None:
    raw = http1.response(415, "text/plain\r\nSet-Cookie: evil=1", b"no", keep_alive=False, extra=(("Allow", "POST"),))
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 415 Unsupported Media Type"
    assert b"Content-Length: 2" in lines and b"Connection: close" in lines and b"Allow: POST" in lines
    assert not any(line.startswith(b"Set-Cookie") for line in lines)  # CR/LF in a value cannot add a header
    assert body == b"no"
    assert http1.response(200, "application/json", b"{}").startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Connection" not in http1.response(200, "application/json", b"{}")  # keep-alive is 1.1's default
