"""scaffold.router_edit.add_groups and scaffold.pyproject_edit: the edits `nova gen auth` makes."""

from __future__ import annotations

import textwrap
import tomllib

import pytest

from nova_cli.scaffold.pyproject_edit import add_dependencies
from nova_cli.scaffold.router_edit import CannotEdit, Import, RouteEntry, RouteGroup, add_groups

ROUTER = textwrap.dedent(
    """\
    from myapp.controllers import chat_ws_handler, main_controller


    def routes(environment):
        return [
            {
                "prefix": "",
                "security": False,
                "routes": [
                    ("/", main_controller.index, {"methods": ["get"]}),
                    ("/chat", chat_ws_handler, {"protocol": "ws"}),  # the echo chat
                ],
            },
        ]
    """
)
PRIVATE = RouteGroup(
    "auth.require_authenticated",
    (
        RouteEntry("/me", "user_controller.me", ("get",)),
        RouteEntry("/chat", "chat_ws_handler", protocol="ws"),
    ),
    ('("pre_request", "csrf", {})',),
    ("Logged-in users only.",),
)
IMPORTS = [Import("myapp.controllers", "user_controller"), Import("myapp", "auth")]


def test_a_group_is_appended_and_an_open_route_moves_into_it():
    edit = add_groups(ROUTER, [PRIVATE], IMPORTS)
    assert [e.path for e in edit.moved] == ["/chat"]
    assert edit.groups == 1
    assert edit.source.count('("/chat", chat_ws_handler, {"protocol": "ws"})') == 1
    expected = textwrap.indent(
        textwrap.dedent(
            """\
            {
                "prefix": "",
                "security": False,
                "routes": [
                    ("/", main_controller.index, {"methods": ["get"]}),
                ],
            },
            {
                # Logged-in users only.
                "prefix": "",
                "security": auth.require_authenticated,
                "plugins": [
                    ("pre_request", "csrf", {}),
                ],
                "routes": [
                    ("/me", user_controller.me, {"methods": ["get"]}),
                    ("/chat", chat_ws_handler, {"protocol": "ws"}),
                ],
            },
            """
        ),
        " " * 8,
    )
    assert expected in edit.source
    imports = (
        "from myapp import auth\nfrom myapp.controllers import chat_ws_handler, main_controller,"
    )
    assert edit.source.startswith(imports)
    again = add_groups(edit.source, [PRIVATE], IMPORTS)
    assert not again.changed and again.source == edit.source


def test_a_path_routed_to_another_target_is_a_clash():
    taken = ROUTER.replace('("/chat", chat_ws_handler,', '("/chat", main_controller,')
    edit = add_groups(taken, [PRIVATE], IMPORTS)
    assert [(e.path, code) for e, code in edit.clashes] == [
        ("/chat", '("/chat", main_controller, {"protocol": "ws"})')
    ]
    assert [e.path for e in edit.added] == ["/me"]


def test_a_dynamic_route_table_cannot_be_edited():
    with pytest.raises(CannotEdit, match="not a list literal"):
        add_groups("def routes(environment):\n    return make()\n", [PRIVATE], IMPORTS)


def test_a_route_too_long_for_a_line_is_split_as_ruff_format_does():
    group = RouteGroup(
        "False", (RouteEntry("/a/very/long/path", "some_controller.a_long_action_name", ("post",)),)
    )
    assert group.code(indent=8).splitlines()[4:10] == [
        "                (",
        '                    "/a/very/long/path",',
        "                    some_controller.a_long_action_name,",
        '                    {"methods": ["post"]},',
        "                ),",
        "            ],",
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ('dependencies = ["nova-web"]', 'dependencies = ["nova-web", "sqlalchemy>=2"]'),
        ("dependencies = []", 'dependencies = ["sqlalchemy>=2"]'),
        (
            'dependencies = [\n    "nova-web",  # the framework\n]',
            'dependencies = [\n    "nova-web",  # the framework\n    "sqlalchemy>=2",\n]',
        ),
        (
            'dependencies = [\n  "nova-web"\n]',
            'dependencies = [\n  "nova-web",\n  "sqlalchemy>=2",\n]',
        ),
    ],
)
def test_dependencies_are_added_as_the_array_is_written(before, after):
    source = f'[project]\nname = "x"\n{before}\n\n[tool.nova]\napp = "x"\n'
    edited, added = add_dependencies(source, ["sqlalchemy>=2"])
    assert added == ["sqlalchemy>=2"]
    assert edited == source.replace(before, after)
    assert tomllib.loads(edited)["tool"] == {"nova": {"app": "x"}}


def test_a_dependency_already_there_is_not_added_twice():
    source = '[project]\ndependencies = ["SQLAlchemy[asyncio]>=2.0", "nova-web"]\n'
    assert add_dependencies(source, ["sqlalchemy>=2"]) == (source, [])


def test_dependencies_in_another_table_are_not_touched():
    source = '[tool.other]\ndependencies = ["x"]\n\n[project]\ndependencies = ["nova-web"]\n'
    edited, _ = add_dependencies(source, ["argon2-cffi>=23"])
    assert tomllib.loads(edited)["tool"]["other"]["dependencies"] == ["x"]
    assert tomllib.loads(edited)["project"]["dependencies"] == ["nova-web", "argon2-cffi>=23"]
