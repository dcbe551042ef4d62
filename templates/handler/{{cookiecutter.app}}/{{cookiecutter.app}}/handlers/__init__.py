"""Custom return handlers, registered in {{ cookiecutter.app }}/__init__.py with register_handler."""
