"""The "{{ cookiecutter.name }}" return handler: lets controllers return ("{{ cookiecutter.name }}", payload).

Registered when the app package is imported ({{ cookiecutter.app }}/__init__.py):

    register_handler("{{ cookiecutter.name }}", {{ cookiecutter.name }}_handler.handle)

("{{ cookiecutter.name }}", payload) calls handle(200, {}, payload);
("{{ cookiecutter.name }}", status, headers, payload) calls handle(status, headers, payload).
"""

from starlette.responses import Response

MEDIA_TYPE = "{{ cookiecutter.media_type }}"


def handle(status_code, extra_headers, payload):
    """Nova's handler callback: (status code, extra headers, payload) -> a Response."""
    body = payload if isinstance(payload, bytes | str) else str(payload)
    headers = {"content-type": MEDIA_TYPE, **extra_headers}
    return Response(body, status_code, headers)
