def resolve(req, invalid_return):
    if invalid_return is None:
        raise TypeError("cannot resolve None")
    return ("status", 500, {}, {"error": "internal server error", "got": repr(invalid_return)})
