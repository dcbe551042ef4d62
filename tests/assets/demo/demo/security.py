async def check(req):
    token = req.headers.get("authorization")
    if token == "Bearer good":
        return (True, {"name": "alice"})
    if token == "Bearer raise":
        raise RuntimeError("security exploded")
    if token == "Bearer redirect":
        return ("redirect", "/login")
    if token == "Bearer teapot":
        return (False, 418, {"x-why": "teapot"}, {"error": "teapot"})
    return False
