"""The {{ cookiecutter.name }} resource: a JSON CRUD controller over an in-memory store.

Routes (router.py):

    GET    /{{ cookiecutter.name }}      list     200, every item
    POST   /{{ cookiecutter.name }}      create   201, the new item (400 if the body is not a JSON object)
    GET    /{{ cookiecutter.name }}/:id  show     200, or 404
    PUT    /{{ cookiecutter.name }}/:id  update   200, the replaced item, or 404 / 400
    DELETE /{{ cookiecutter.name }}/:id  delete   204, or 404

Request bodies arrive decoded as `req.json` by Nova's request plugin
(`decode_json_body` in [tool.nova] plugins). The store is a dict in this
process: swap `_store` for a database when the data must outlive it.
The action names are Nova's (`list` included), so inside this module the
built-in list is `builtins.list`.
"""

import itertools
import threading

_store = {}
_ids = itertools.count(1)
# Sync controllers run in a thread pool: one lock keeps the store consistent.
_lock = threading.Lock()


def list(req):
    """GET /{{ cookiecutter.name }}"""
    with _lock:
        items = sorted(_store.values(), key=lambda item: item["id"])
    return ("json", items)


def create(req):
    """POST /{{ cookiecutter.name }}"""
    fields = _fields(req)
    if fields is None:
        return _bad_request()
    with _lock:
        item = {**fields, "id": next(_ids)}
        _store[item["id"]] = item
    return ("json", 201, {"location": f"/{{ cookiecutter.name }}/{item['id']}"}, item)


def show(req):
    """GET /{{ cookiecutter.name }}/:id"""
    with _lock:
        item = _store.get(_id(req))
    return ("json", item) if item is not None else _not_found(req)


def update(req):
    """PUT /{{ cookiecutter.name }}/:id"""
    fields = _fields(req)
    if fields is None:
        return _bad_request()
    key = _id(req)
    with _lock:
        if key not in _store:
            return _not_found(req)
        item = {**fields, "id": key}
        _store[key] = item
    return ("json", 200, {}, item)


def delete(req):
    """DELETE /{{ cookiecutter.name }}/:id"""
    with _lock:
        item = _store.pop(_id(req), None)
    return ("status", 204) if item is not None else _not_found(req)


def _id(req):
    """The numeric id from the path, or None (which no item has)."""
    text = req.bindings["id"]
    return int(text) if text.isdigit() else None


def _fields(req):
    """The JSON object the client sent, less any `id` of its own; None if absent."""
    if not isinstance(req.json, dict):
        return None
    return {key: value for key, value in req.json.items() if key != "id"}


def _bad_request():
    message = "expected a JSON object (content-type: application/json)"
    return _error(400, "bad_request", message)


def _not_found(req):
    message = f"no {{ cookiecutter.name }} item with id {req.bindings['id']}"
    return _error(404, "not_found", message)


def _error(status, code, message):
    """Nova's JSON error shape, as the router's own error pages answer."""
    return ("status", status, {}, {"status": status, "error": code, "message": message})
