"""scaffold.router_edit: idempotent CST edits of router.py and of the app package's __init__.py."""

from __future__ import annotations

import re
import textwrap

import pytest

from nova_cli.scaffold.router_edit import (
    CannotEdit,
    Import,
    RouteEntry,
    add_handler_registration,
    add_routes,
    snippet,
)

ROUTER = textwrap.dedent(
    '''\
    """Routes."""

    from myapp.controllers import main_controller


    def routes(environment):
        return [
            {
                "prefix": "",
                "security": False,
                "routes": [
                    ("/", main_controller.index, {"methods": ["get"]}),  # the home page
                    ("/assets/[...]", "static"),
                    # generated routes below
                ],
            },
        ]
    '''
)
USERS = [
    RouteEntry("/users", "users_controller.index", ("get",)),
    RouteEntry("/users/:id", "users_controller.show", ("get",)),
]
USERS_IMPORT = [Import("myapp.controllers", "users_controller")]


def test_routes_and_import_are_added_keeping_comments_and_layout():
    edit = add_routes(ROUTER, USERS, USERS_IMPORT)
    assert edit.added == USERS and edit.present == [] and edit.clashes == []
    assert edit.source == ROUTER.replace(
        "from myapp.controllers import main_controller\n",
        "from myapp.controllers import main_controller, users_controller\n",
    ).replace(
        "                # generated routes below\n",
        "                # generated routes below\n"
        '                ("/users", users_controller.index, {"methods": ["get"]}),\n'
        '                ("/users/:id", users_controller.show, {"methods": ["get"]}),\n',
    )
    compile(edit.source, "router.py", "exec")


def test_a_second_edit_changes_nothing():
    once = add_routes(ROUTER, USERS, USERS_IMPORT).source
    again = add_routes(once, USERS, USERS_IMPORT)
    assert again.source == once
    assert not again.changed
    assert again.present == USERS


def test_a_ws_route_names_the_module():
    entry = RouteEntry("/chat", "chat_ws_handler", protocol="ws")
    assert entry.code() == '("/chat", chat_ws_handler, {"protocol": "ws"})'
    edit = add_routes(ROUTER, [entry], [Import("myapp.controllers", "chat_ws_handler")])
    assert '("/chat", chat_ws_handler, {"protocol": "ws"}),' in edit.source
    assert "import chat_ws_handler, main_controller\n" in edit.source


def test_a_path_routed_elsewhere_is_a_clash_not_a_duplicate():
    source = ROUTER.replace("main_controller.index", "main_controller.users", 1).replace(
        '("/", main', '("/users", main'
    )
    edit = add_routes(source, USERS, USERS_IMPORT)
    assert [entry.path for entry, _ in edit.clashes] == ["/users"]
    assert "main_controller.users" in edit.clashes[0][1]
    assert edit.added == [USERS[1]]


def test_other_methods_on_the_same_path_do_not_clash():
    edit = add_routes(ROUTER, [RouteEntry("/", "main_controller.create", ("post",))], [])
    assert edit.clashes == [] and len(edit.added) == 1


def test_a_binding_with_another_name_is_the_same_path():
    source = add_routes(ROUTER, [RouteEntry("/users/:uid", "other.show", ("get",))], []).source
    edit = add_routes(source, USERS[1:], USERS_IMPORT)
    assert [entry.path for entry, _ in edit.clashes] == ["/users/:id"]


def test_single_line_and_empty_route_lists():
    one_line = 'def routes(environment):\n    return [{"routes": [("/a", a.b)]}]\n'
    edit = add_routes(one_line, USERS[:1], [])
    assert '[("/a", a.b), ("/users", users_controller.index, {"methods": ["get"]})]' in edit.source
    empty = 'def routes(environment):\n    return [{"prefix": "", "routes": []}]\n'
    edit = add_routes(empty, USERS, [])
    assert '"routes": [("/users", users_controller.index' in edit.source
    compile(edit.source, "router.py", "exec")


def test_the_first_open_group_gets_the_routes():
    source = textwrap.dedent(
        """\
        def routes(environment):
            return [
                {"prefix": "/admin", "security": check, "routes": [("/x", a.x)]},
                {"prefix": "", "routes": [("/y", a.y)]},
            ]
        """
    )
    edit = add_routes(source, USERS[:1], [])
    assert '[("/y", a.y), ("/users", users_controller.index' in edit.source
    assert '[("/x", a.x)]' in edit.source


def test_a_list_assigned_to_a_name_is_edited_in_place():
    source = textwrap.dedent(
        """\
        def routes(environment):
            groups = [{"prefix": "", "routes": [("/y", a.y)]}]
            return groups
        """
    )
    assert "users_controller.index" in add_routes(source, USERS[:1], []).source


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("x = 1\n", "no routes(environment) function"),
        (
            "def routes(environment):\n    return [make_group(r) for r in ROUTES]\n",
            "built dynamically",
        ),
        ("def routes(environment):\n    return [GROUP]\n", "not a dict literal"),
        (
            'def routes(environment):\n    return [{"prefix": "", "routes": ROUTES + more}]\n',
            "not a list literal",
        ),
        (
            'def routes(environment):\n    if environment == "dev":\n        return []\n'
            "    return [{}]\n",
            "2 return statements",
        ),
        ('def routes(environment):\n    return [{"prefix": "/api", "routes": []}]\n', "no group"),
        ("def routes(environment:\n", "does not parse"),
    ],
)
def test_a_router_that_cannot_be_edited_safely_says_why(source, reason):
    with pytest.raises(CannotEdit, match=re.escape(reason)):
        add_routes(source, USERS, USERS_IMPORT)


def test_a_name_already_used_for_something_else_is_refused():
    source = ROUTER.replace(
        "from myapp.controllers import main_controller\n",
        "from myapp.controllers import main_controller\nfrom legacy import users_controller\n",
    )
    with pytest.raises(CannotEdit, match="already uses the name users_controller"):
        add_routes(source, USERS, USERS_IMPORT)


def test_a_long_import_is_wrapped_like_ruff_format_does():
    names = ["alpha_controller", "beta_controller", "gamma_controller", "main_controller"]
    source = ROUTER.replace("import main_controller", "import " + ", ".join(names))
    edit = add_routes(source, USERS, USERS_IMPORT)
    wrapped = "".join(f"    {n},\n" for n in sorted([*names, "users_controller"]))
    assert f"from myapp.controllers import (\n{wrapped})\n" in edit.source
    # and the wrapped form takes more names the same way
    again = add_routes(
        edit.source,
        [RouteEntry("/z", "zeta_controller.index", ("get",))],
        [Import("myapp.controllers", "zeta_controller")],
    )
    assert "    users_controller,\n    zeta_controller,\n)\n" in again.source


def test_a_router_without_imports_gets_one_after_its_docstring():
    source = '"""Doc."""\n\n\ndef routes(environment):\n    return [{"routes": []}]\n'
    edit = add_routes(source, USERS[:1], USERS_IMPORT)
    assert edit.source.startswith(
        '"""Doc."""\n\nfrom myapp.controllers import users_controller\n\n\ndef routes'
    )


def test_snippet_lists_imports_then_routes():
    assert snippet(USERS, USERS_IMPORT) == (
        "from myapp.controllers import users_controller\n\n"
        '("/users", users_controller.index, {"methods": ["get"]}),\n'
        '("/users/:id", users_controller.show, {"methods": ["get"]}),'
    )


def test_handler_registration_in_a_docstring_only_package():
    edited = add_handler_registration('"""myapp."""\n', "myapp", "xml")
    assert edited == (
        '"""myapp."""\n\n'
        "from nova_cli.handlers import register_handler\n\n"
        "from myapp.handlers import xml_handler\n\n"
        'register_handler("xml", xml_handler.handle)\n'
    )
    assert add_handler_registration(edited, "myapp", "xml") is None


def test_a_second_handler_joins_the_first():
    first = add_handler_registration("", "myapp", "xml")
    assert first is not None
    second = add_handler_registration(first, "myapp", "csv")
    assert second is not None
    assert "from myapp.handlers import csv_handler, xml_handler\n" in second
    assert second.endswith(
        'register_handler("xml", xml_handler.handle)\nregister_handler("csv", csv_handler.handle)\n'
    )
    assert second.count("from nova_cli.handlers import register_handler") == 1


def test_an_existing_registration_in_any_style_is_kept():
    source = 'from nova_cli import handlers\n\nhandlers.register_handler("xml", mine.handle)\n'
    assert add_handler_registration(source, "myapp", "xml") is None
