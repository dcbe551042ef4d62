"""`JSONBytes`: the same response as Starlette's, its common headers prepared."""

from __future__ import annotations

import pytest
from starlette.responses import JSONResponse, Response

from nova_cli.runtime.responses import JSONBytes

BODY = b'{"message":"Hello world!"}'


@pytest.mark.parametrize("status", [100, 200, 201, 204, 304, 404, 500])
@pytest.mark.parametrize(
    "headers",
    [None, {}, {"x-a": "b"}, {"Content-Type": "application/problem+json"}, {"content-length": "3"}],
)
def test_the_headers_are_starlettes(status: int, headers: dict[str, str] | None) -> None:
    ours = JSONBytes(BODY, status, headers)
    theirs = Response(BODY, status, headers, media_type="application/json")
    assert ours.raw_headers == theirs.raw_headers
    assert (ours.status_code, ours.body, ours.background) == (status, BODY, None)


def test_the_common_reply_is_starlettes_json_response() -> None:
    ours = JSONBytes(BODY)
    theirs = JSONResponse({"message": "Hello world!"})
    assert (ours.raw_headers, ours.body) == (theirs.raw_headers, theirs.body)


def test_its_headers_can_still_be_changed() -> None:
    response = JSONBytes(BODY)
    response.headers["x-added"] = "1"  # what a post-request plugin does
    assert response.raw_headers[-1] == (b"x-added", b"1")
    assert JSONBytes(BODY).raw_headers == Response(BODY, media_type="application/json").raw_headers
