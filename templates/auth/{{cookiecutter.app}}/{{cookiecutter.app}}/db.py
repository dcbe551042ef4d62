"""The database: SQLAlchemy 2, SQLite unless DATABASE_URL names another.

    DATABASE_URL=postgresql+psycopg://user:pass@host/{{ cookiecutter.app }} nova run

The engine is made, and the tables created, on first use rather than at
start-up: the app package has no start hook, and a request is the first use
in every process (each `nova run` worker, each test). Controllers are sync
functions run in the thread pool, so plain sync SQLAlchemy fits them.
"""

import os
import threading
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import DeclarativeBase, Session

PROJECT = Path(__file__).resolve().parents[1]
DEFAULT_URL = f"sqlite:///{PROJECT / '{{ cookiecutter.app }}.db'}"


class Base(DeclarativeBase):
    """The tables of the app (`accounts.User`, ...)."""


_engine = None  # made on first use
_tables = False  # created on first use, once every model module is imported
_lock = threading.Lock()


def engine():
    """The engine of DATABASE_URL (default: DEFAULT_URL), its tables created."""
    global _engine, _tables
    with _lock:
        if _engine is None:
            _engine = create_engine(os.environ.get("DATABASE_URL", DEFAULT_URL))
        if not _tables:
            Base.metadata.create_all(_engine)
            _tables = True
        return _engine


def use(url):
    """Switch to the database at `url` (tests use a file of their own)."""
    global _engine, _tables
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine, _tables = create_engine(url), False


def session():
    """A new ORM session: `with db.session() as s, s.begin(): ...`."""
    return Session(engine(), expire_on_commit=False)
