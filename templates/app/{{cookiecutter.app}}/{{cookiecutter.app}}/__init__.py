"""{{ cookiecutter.app }}: {{ cookiecutter.description }}"""
