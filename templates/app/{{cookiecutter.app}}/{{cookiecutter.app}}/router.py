"""The route table of {{ cookiecutter.app }} (`nova routes` shows it compiled)."""

from {{ cookiecutter.app }}.controllers import main_controller


def routes(environment):
    """Nova's route groups. `environment`: "dev" (nova serve), "prod" (nova run)."""
    return [
        {
            "prefix": "",
            "security": False,
            "routes": [
                ("/", main_controller.index, {"methods": ["get"]}),
                ("/heartbeat", lambda req: ("status", 200), {"methods": ["get"]}),
                ("/assets/[...]", "static"),
                ("/favicon.ico", "static/favicon.ico"),
            ],
        },
    ]
