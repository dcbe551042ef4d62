from starlette.responses import Response


def handle(status_code, extra_headers, payload):
    return Response(payload, status_code, {"content-type": "application/xml", **extra_headers})
