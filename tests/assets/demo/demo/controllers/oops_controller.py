from demo.controllers import oops_fallback

fallback_controller = oops_fallback


def boom(req):
    raise ValueError("kaboom")


def nothing(req):
    return None


def unknown(req):
    return ("error", "not_found")


def bare_string(req):
    return "something unexpected"
