"""`nova openapi`: the document of a generated app is valid OpenAPI 3.1 and says what it serves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from nova_cli.scaffold import apply, find_project, plan_generator
from tests.support.cli import run_nova


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, pristine_app: Path) -> Path:
    """A new app with a resource, a controller and a WebSocket handler."""
    root = tmp_path_factory.mktemp("openapi") / "myapp"
    shutil.copytree(pristine_app, root)
    project = find_project(root)
    apply(plan_generator("resource", "books", project))
    apply(plan_generator("controller", "users", project, actions=["index", "show"]))
    apply(plan_generator("ws-handler", "chat", project))
    return root


@pytest.fixture(scope="module")
def doc(generated: Path) -> dict:
    done = run_nova("openapi", cwd=generated)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_document_is_valid_openapi_3_1(doc: dict) -> None:
    OpenAPIV31SpecValidator(doc).validate()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"] == {"title": "myapp", "version": "0.1.0"}


def test_paths_methods_and_operation_ids_follow_the_route_table(doc: dict) -> None:
    paths = doc["paths"]
    # ws, static and status routes have no OpenAPI form; bindings become {name}.
    assert sorted(paths) == ["/", "/books", "/books/{id}", "/heartbeat", "/users", "/users/{id}"]
    assert sorted(paths["/books/{id}"]) == ["delete", "get", "put"]
    show = paths["/books/{id}"]["get"]
    assert show["operationId"] == "myapp.controllers.books_controller.show"
    assert show["tags"] == ["books"]
    assert show["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    ]
    assert show["summary"] == "GET /books/:id"  # the controller's docstring


def test_the_resource_schema_is_a_component_and_the_body_of_its_writes(doc: dict) -> None:
    book = doc["components"]["schemas"]["book"]
    assert book["type"] == "object"
    ref = {"$ref": "#/components/schemas/book"}
    create = doc["paths"]["/books"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == ref
    assert create["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NovaError"
    }
    assert "requestBody" not in doc["paths"]["/books"]["get"]


def test_output_file_title_and_version(generated: Path, tmp_path: Path) -> None:
    out = tmp_path / "api" / "openapi.json"
    done = run_nova("openapi", "-o", str(out), "--title", "Books", "-v", "2.0.0", cwd=generated)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"wrote {out} (6 paths)"
    written = json.loads(out.read_text())
    assert written["info"] == {"title": "Books", "version": "2.0.0"}


ANY_METHOD_ROUTER = """
from myapp.controllers import main_controller


def routes(environment):
    return [
        {
            "prefix": "/api",
            "security": lambda req: True,
            "routes": [
                ("/any", main_controller.index),
                ("/items", "static"),
                ("/files/[...]", main_controller.index, {"methods": ["get"]}),
                ("/inline", main_controller.index, {"methods": ["post"], "json_schema": "s.json"}),
            ],
        }
    ]
"""


def test_any_method_routes_expand_and_security_is_named(pristine_app: Path, tmp_path: Path) -> None:
    root = tmp_path / "myapp"
    shutil.copytree(pristine_app, root)
    (root / "myapp" / "router.py").write_text(ANY_METHOD_ROUTER)
    (root / "myapp" / "items").mkdir()
    (root / "myapp" / "s.json").write_text('{"type": "array"}')
    done = run_nova("openapi", cwd=root)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    OpenAPIV31SpecValidator(doc).validate()
    assert sorted(doc["paths"]) == ["/api/any", "/api/inline"]  # no static, no wildcard
    ops = doc["paths"]["/api/any"]
    assert sorted(ops) == ["delete", "get", "patch", "post", "put"]
    ids = {op["operationId"] for op in ops.values()}
    assert "myapp.controllers.main_controller.index.post" in ids and len(ids) == 5
    assert ops["get"]["x-nova-security"].endswith("<lambda>")
    # A schema outside schemas/ is inlined.
    inline = doc["paths"]["/api/inline"]["post"]["requestBody"]["content"]["application/json"]
    assert inline["schema"] == {"type": "array"}


def test_a_schema_that_is_not_json_is_one_line(generated: Path, tmp_path: Path) -> None:
    root = tmp_path / "myapp"
    shutil.copytree(generated, root)
    (root / "myapp" / "schemas" / "broken.json").write_text("{nope")
    done = run_nova("openapi", cwd=root)
    assert done.returncode == 1
    assert "broken.json: not a JSON schema" in done.stderr
    assert done.stderr.count("\n") == 1
