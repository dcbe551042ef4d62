"""The home page."""


def index(req):
    """GET /: renders views/main.html (the module name without `_controller`)."""
    return ("ok", {"message": "Hello world!"})
