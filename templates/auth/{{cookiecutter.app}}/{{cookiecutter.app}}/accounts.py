"""Accounts: users with an email and a password, Nova's gen_auth accounts context.

Passwords are hashed with argon2id (argon2-cffi's `PasswordHasher`, with its
default parameters) and are never stored, returned or logged in clear.
Logging in with an unknown email checks the password against a dummy hash,
so that it takes as long as with a registered one: the answer and its time
say nothing about which emails have accounts.
"""

import re
import secrets
from datetime import UTC, datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from {{ cookiecutter.app }} import db

MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # hashing reads all of it: no megabyte passwords
MAX_EMAIL = 160
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A registration or password change refused; the message is meant for the user."""


class WrongPassword(AccountError):
    """The current password given to change it is not the user's."""


def _new_stamp():
    return secrets.token_urlsafe(16)


class User(db.Base):
    """A user; `session_stamp` changes with the password, ending older sessions."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL), unique=True)
    hashed_password: Mapped[str] = mapped_column(String(255))
    session_stamp: Mapped[str] = mapped_column(String(64), default=_new_stamp)
    created_at: Mapped[datetime] = mapped_column(default=lambda: datetime.now(UTC))

    def __repr__(self):
        return f"<User {self.id} {self.email}>"  # never the hash


def normalize_email(email):
    """The email as it is stored: trimmed, lower-case."""
    return email.strip().lower()


def register(email, password):
    """A new user; AccountError if the email is taken or either value is refused."""
    email = normalize_email(email)
    _check_email(email)
    _check_password(password)
    hashed = _hasher.hash(password)
    user = User(email=email, hashed_password=hashed, session_stamp=_new_stamp())
    try:
        with db.session() as s, s.begin():
            s.add(user)
    except IntegrityError:
        raise AccountError("this email is already registered") from None
    return user


def authenticate(email, password):
    """The user with this email and password, else None (the same work either way)."""
    with db.session() as s:
        user = s.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        _verify(_dummy_hash(), password)
        return None
    if not _verify(user.hashed_password, password):
        return None
    if _hasher.check_needs_rehash(user.hashed_password):
        # Saved with older argon2 parameters: hash again with today's.
        user = _update(user.id, hashed_password=_hasher.hash(password))
    return user


def get_user(user_id):
    """The user with this id, or None."""
    with db.session() as s:
        return s.get(User, user_id)


def change_password(user_id, current, new):
    """Set a new password, given the current one; the user with a new session stamp.

    WrongPassword if `current` is not the password, AccountError if `new` is refused.
    """
    user = get_user(user_id)
    if user is None or not _verify(user.hashed_password, current):
        raise WrongPassword("the current password is wrong")
    _check_password(new)
    hashed = _hasher.hash(new)
    return _update(user_id, hashed_password=hashed, session_stamp=_new_stamp())


def _update(user_id, **values):
    with db.session() as s, s.begin():
        user = s.get(User, user_id)
        for name, value in values.items():
            setattr(user, name, value)
    return user


def _verify(hashed, password):
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash():
    return _hasher.hash(secrets.token_urlsafe(16))


def _check_email(email):
    if len(email) > MAX_EMAIL or not _EMAIL.match(email):
        raise AccountError("enter an email address such as alice@example.com")


def _check_password(password):
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        limits = f"{MIN_PASSWORD} to {MAX_PASSWORD}"
        raise AccountError(f"a password has {limits} characters (a few words will do)")
