def index(req):
    return ("ok", {"message": "Hello world!"})


def show(req):
    return ("json", {"id": req.bindings["id"], "method": req.method})


def new(req):
    return ("json", {"new": True})


def rest(req):
    return ("json", {"bindings": req.bindings, "pathinfo": req.pathinfo})


def other_view(req):
    return (
        "view",
        {"message": "other"},
        {"view": "other", "status_code": 202, "headers": {"x-a": "b"}},
    )


def not_found(req):
    return ("ok", {"path": req.path}, {"view": "not_found"})
