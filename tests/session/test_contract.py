"""What every session backend must do, run over memory and a real redis-server."""

from __future__ import annotations

import re

import httpx
from starlette.testclient import TestClient

from nova_cli.session.store import REFRESH
from tests.session.conftest import Clock

DAY, FORTNIGHT = 86400.0, 1209600.0


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def session_id(response: httpx.Response) -> str:
    (header,) = set_cookies(response)
    found = re.match(r"session_id=([^;]*);", header)
    assert found, header
    return found.group(1)


def get(client: TestClient, path: str, sid: str | None = None) -> httpx.Response:
    """GET `path` with the cookie `session_id=sid` alone (none when `sid` is None)."""
    client.cookies.clear()  # the test says which cookie each request carries
    headers = {"cookie": f"session_id={sid}"} if sid is not None else {}
    return client.get(path, headers=headers)


def show(client: TestClient, sid: str) -> dict[str, str]:
    """The session `sid` names."""
    response = get(client, "/show", sid)
    assert response.status_code == 200
    return dict(response.json())


def test_a_request_that_writes_nothing_sets_no_cookie(client: TestClient) -> None:
    assert set_cookies(get(client, "/nothing")) == []
    assert set_cookies(get(client, "/show")) == []  # reading an empty session writes nothing
    sid = session_id(get(client, "/put?user=alice"))
    # Once it exists, reading it (and writing it again) leaves the cookie alone.
    assert set_cookies(get(client, "/show", sid)) == []
    assert set_cookies(get(client, "/put?user=bob", sid)) == []
    assert show(client, sid) == {"user": "bob"}


def test_a_write_is_read_back_in_the_same_request_and_the_next(client: TestClient) -> None:
    first = get(client, "/ryw")
    assert first.json() == {"seen": 1}
    sid = session_id(first)
    assert get(client, "/ryw", sid).json() == {"seen": 2}
    assert show(client, sid) == {"seen": 2}


def test_a_nested_change_is_saved(client: TestClient) -> None:
    sid = session_id(get(client, "/cart?item=apple"))
    get(client, "/cart?item=pear", sid)
    assert show(client, sid) == {"cart": ["apple", "pear"]}


def test_an_unknown_id_is_never_adopted(client: TestClient) -> None:
    planted = "A" * 43  # the shape of a real id, issued by no one
    assert show(client, planted) == {}
    response = get(client, "/put?user=alice", planted)
    issued = session_id(response)
    assert issued != planted
    assert show(client, planted) == {}
    assert show(client, issued) == {"user": "alice"}
    junk = get(client, "/put?user=eve", "not-an-id")
    assert session_id(junk) != "not-an-id"


def test_rotate_gives_a_new_id_and_the_old_one_reads_empty(client: TestClient) -> None:
    before = session_id(get(client, "/put?cart=1"))
    after = session_id(get(client, "/login", before))
    assert after != before
    assert show(client, before) == {}
    assert show(client, after) == {"cart": "1", "user": "alice"}
    again = session_id(get(client, "/rotate", after))
    assert show(client, after) == {}
    assert show(client, again) == {"cart": "1", "user": "alice"}


def test_delete_forgets_the_session_and_resets_the_cookie(client: TestClient) -> None:
    sid = session_id(get(client, "/put?user=alice&theme=dark"))
    assert get(client, "/forget?key=theme", sid).json() == {"user": "alice"}
    assert show(client, sid) == {"user": "alice"}
    response = get(client, "/logout", sid)
    (header,) = set_cookies(response)
    assert header.startswith('session_id=""; ') and "Max-Age=0" in header
    assert show(client, sid) == {}


def test_idle_sessions_expire_and_used_ones_do_not(client: TestClient, clock: Clock) -> None:
    sid = session_id(get(client, "/put?user=alice"))
    for _ in range(5):  # used every 0.9 idle timeouts: alive long past one timeout
        clock.advance(DAY * 0.9)
        assert show(client, sid) == {"user": "alice"}
    clock.advance(DAY + 1)
    assert show(client, sid) == {}


def test_a_read_refreshes_the_idle_deadline_at_most_once_a_minute(
    client: TestClient, clock: Clock
) -> None:
    quiet = session_id(get(client, "/put?user=alice"))
    clock.advance(REFRESH / 2)
    assert show(client, quiet) == {"user": "alice"}  # within a minute of the save: no write
    clock.advance(DAY - REFRESH / 2)
    assert show(client, quiet) == {}  # so a day after the save, it is gone
    used = session_id(get(client, "/put?user=bob"))
    clock.advance(REFRESH)
    assert show(client, used) == {"user": "bob"}  # a minute after the save: refreshed
    clock.advance(DAY - 1)
    assert show(client, used) == {"user": "bob"}


def test_sessions_expire_at_the_absolute_timeout_however_used(
    client: TestClient, clock: Clock
) -> None:
    sid = session_id(get(client, "/put?user=alice"))
    used = 0.0
    while used + DAY / 2 < FORTNIGHT:
        clock.advance(DAY / 2)
        used += DAY / 2
        assert get(client, "/ryw", sid).status_code == 200
    clock.advance(FORTNIGHT - used)
    assert show(client, sid) == {}


def test_a_rotated_session_keeps_its_absolute_deadline(client: TestClient, clock: Clock) -> None:
    sid = session_id(get(client, "/put?user=alice"))
    for _ in range(27):  # used every half day, up to half a day before its end
        clock.advance(DAY / 2)
        assert show(client, sid) == {"user": "alice"}
    response = get(client, "/rotate", sid)
    header = set_cookies(response)[0]
    assert f"Max-Age={int(DAY / 2)};" in header
    clock.advance(DAY / 2)
    assert show(client, session_id(response)) == {}


def test_a_value_that_cannot_be_stored_is_a_500_naming_it(client: TestClient) -> None:
    response = get(client, "/bad")
    assert response.status_code == 500
    assert "session['tags'] is of type set" in response.json()["message"]
    assert set_cookies(response) == []


def test_an_emptied_session_keeps_its_id(client: TestClient) -> None:
    sid = session_id(get(client, "/put?user=alice"))
    assert get(client, "/forget?key=user", sid).json() == {}
    assert set_cookies(get(client, "/put?user=bob", sid)) == []
    assert show(client, sid) == {"user": "bob"}
