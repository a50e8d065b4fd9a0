"""`chapbook serve` answers only requests addressed to the host it serves on (issue 11): a page
on another site can point its own name at 127.0.0.1 (DNS rebinding) and read the preview, so a
foreign or missing Host header gets 421 and nothing else, on every path and every method."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import running_preview

PAGE_TEXT = "Second overview, same heading text."  # in tests/roots/edge


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A real server on a free port, serving a copy of tests/roots/edge; its port."""
    with running_preview(tmp_path_factory.mktemp("host") / "book") as (url, _):
        yield int(url.rstrip("/").rsplit(":", 1)[1])  # http://127.0.0.1:PORT/


def ask(port: int, path: str, host: str | list[str] | None,
        method: str = "GET") -> tuple[int, str, str]:
    """Send one request with exactly the Host header(s) given (None: none at all); the status,
    Content-Type and body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for value in [host] if isinstance(host, str) else host or []:
            connection.putheader("Host", value)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, response.getheader("Content-Type") or "", body
    finally:
        connection.close()


PATHS = ["/", "/index.html", "/#top", "/__version", "/styles.css", "/nope"]


@pytest.mark.parametrize("host", ["localhost", "localhost:{port}", "127.0.0.1",
                                  "127.0.0.1:{port}", "[::1]", "[::1]:{port}", "LocalHost"])
def test_the_page_and_its_version_are_served_to_the_local_host(port: int, host: str) -> None:
    status, kind, body = ask(port, "/", host.format(port=port))
    assert status == 200 and kind.startswith("text/html") and PAGE_TEXT in body
    status, kind, body = ask(port, "/__version", host.format(port=port))
    assert status == 200 and kind.startswith("text/plain") and body.isdigit()
    status, _, _ = ask(port, "/nope", host.format(port=port))
    assert status == 404  # an unknown path is still a plain 404 for the right host


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("host", [
    "evil.example", "evil.example:{port}", "localhost.evil.example",
    "localhost.evil.example:{port}", "127.0.0.1.evil.example", "evil.example#@localhost",
    "localhost:1", "127.0.0.1:1", "[::1]:1", "localhost:{port}0", "[::1]x", "0.0.0.0",
    "", " ",
])
def test_a_foreign_host_is_refused_on_every_path(port: int, path: str, host: str) -> None:
    status, kind, body = ask(port, path, host.format(port=port))
    assert status == 421, (host, path, status)
    assert kind.startswith("text/plain") and len(body) < 200
    assert PAGE_TEXT not in body and "<script" not in body


@pytest.mark.parametrize("path", PATHS)
def test_a_request_without_host_is_refused(port: int, path: str) -> None:
    status, kind, body = ask(port, path, None)
    assert status == 421 and kind.startswith("text/plain") and PAGE_TEXT not in body


def test_two_host_headers_are_refused(port: int) -> None:
    # which one a proxy or browser honoured is unknowable, so neither is trusted
    status, _, body = ask(port, "/", ["localhost", "evil.example"])
    assert status == 421 and PAGE_TEXT not in body
    status, _, body = ask(port, "/", ["evil.example", "localhost"])
    assert status == 421 and PAGE_TEXT not in body


@pytest.mark.parametrize("method", ["HEAD", "POST", "PUT", "OPTIONS", "DELETE"])
def test_a_foreign_host_is_refused_for_every_method(port: int, method: str) -> None:
    status, _, body = ask(port, "/", "evil.example", method)
    assert status == 421 and PAGE_TEXT not in body


def test_the_server_listens_on_loopback_only() -> None:
    from chapbook.serve import Preview, _listen

    server = _listen(Preview(Path("unused.yml")), 0)
    try:
        assert server.server_address[0] == "127.0.0.1"  # not 0.0.0.0: nothing off this machine
    finally:
        server.server_close()
