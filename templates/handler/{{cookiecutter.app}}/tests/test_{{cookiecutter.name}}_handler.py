"""The "{{ cookiecutter.name }}" return handler: its callback, and its registration by the app package."""

from nova_cli.handlers import get_handler

from {{ cookiecutter.app }}.handlers import {{ cookiecutter.name }}_handler as handler


def test_handle_builds_the_response():
    response = handler.handle(201, {"x-extra": "1"}, "<ok/>")
    assert response.status_code == 201
    assert response.body == b"<ok/>"
    assert response.headers["content-type"].startswith(handler.MEDIA_TYPE)
    assert response.headers["x-extra"] == "1"


def test_the_app_package_registers_it():
    import {{ cookiecutter.app }}  # noqa: F401  (registration happens at import)

    assert get_handler("{{ cookiecutter.name }}") is handler.handle
