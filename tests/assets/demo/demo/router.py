from demo import security
from demo.controllers import api_controller, main_controller, oops_controller


def routes(environment):
    return [
        {
            "prefix": "",
            "security": False,
            "routes": [
                ("/", main_controller.index, {"methods": ["get"]}),
                ("/heartbeat", lambda req: ("status", 200), {"methods": ["get"]}),
                ("/env", lambda req: ("json", {"environment": environment}), {"methods": ["get"]}),
                ("/users/:id", main_controller.show, {"methods": ["get", "delete"]}),
                ("/users/new", main_controller.new, {"methods": ["get"]}),
                ("/users/:id/[...]", main_controller.rest, {"methods": ["get"]}),
                ("/files/[...]", main_controller.rest, {"methods": ["get"]}),
                ("/echo", api_controller.echo, {"methods": ["post", "put", "get"]}),
                ("/form", api_controller.form, {"methods": ["post"]}),
                ("/status4", api_controller.status4, {}),
                ("/status3", api_controller.status3, {}),
                ("/text", api_controller.text, {}),
                ("/redirect", api_controller.redirect, {}),
                ("/sendfile", api_controller.sendfile, {}),
                ("/response", api_controller.response, {}),
                ("/xml", api_controller.xml, {}),
                ("/xml4", api_controller.xml4, {}),
                ("/view", main_controller.other_view, {}),
                ("/async", api_controller.async_json, {}),
                ("/created", api_controller.json4, {"methods": ["post"]}),
                ("/boom", oops_controller.boom, {}),
                ("/none", oops_controller.nothing, {}),
                ("/unknown", oops_controller.unknown, {}),
                ("/bare", oops_controller.bare_string, {}),
                ("/nofallback", api_controller.unsupported, {}),
                ("/assets/[...]", "static"),
                (404, main_controller.not_found, {}),
            ],
        },
        {
            "prefix": "/admin",
            "security": security.check,
            "routes": [
                ("/", lambda req: ("json", {"user": req.auth_data}), {"methods": ["get"]}),
            ],
        },
        {
            "prefix": "/plain",
            "plugins": [("pre_request", "correlation", {})],
            "routes": [("/echo", api_controller.echo, {"methods": ["post"]})],
        },
    ]
