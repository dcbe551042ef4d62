"""The {{ cookiecutter.name }} controller: one function per action, each `def action(req)`.

Every action answers JSON, so the app runs and its test passes before any
edit. Return `("ok", vars)` instead to render `views/{{ cookiecutter.name }}.html`.
"""
{%- for action in cookiecutter.actions.split(",") %}


def {{ action }}(req):
{%- if action == "index" %}
    """GET /{{ cookiecutter.name }}"""
    return ("json", {"action": "index"})
{%- elif action == "show" %}
    """GET /{{ cookiecutter.name }}/:id"""
    return ("json", {"action": "show", "id": req.bindings["id"]})
{%- else %}
    """GET /{{ cookiecutter.name }}/{{ action }}"""
    return ("json", {"action": "{{ action }}"})
{%- endif %}
{%- endfor %}
