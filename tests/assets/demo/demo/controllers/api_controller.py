import pathlib

from starlette.responses import PlainTextResponse


def echo(req):
    return ("json", {"json": req.json, "qs": req.parsed_qs, "body": req.body.decode()})


def form(req):
    return ("json", 200, {}, {"params": req.params})


def status4(req):
    return ("status", 202, {"x-extra": "1"}, {"ok": True})


def status3(req):
    return ("status", 204, {"x-extra": "3"})


def text(req):
    return ("status", 200, {}, "plain text")


def redirect(req):
    return ("redirect", "/elsewhere")


def sendfile(req):
    path = pathlib.Path(__file__).parent.parent / "static" / "hello.txt"
    return ("sendfile", 200, {}, (6, 4, str(path)), "text/plain")


def response(req):
    return PlainTextResponse("raw starlette", 203)


def xml(req):
    return ("xml", "<user><name>Alice</name></user>")


def xml4(req):
    return ("xml", 201, {"x-h": "1"}, "<ok/>")


async def async_json(req):
    return ("json", {"async": True})


def json4(req):
    return ("json", 200, {"x-json": "yes"}, {"created": False})


def unsupported(req):
    return ("nonsense", 1)
