"""Password hashes with werkzeug's scrypt (the `PasswordHasher` port of the use cases).

Hashes carry their method and parameters (`scrypt:32768:8:1$salt$hash`), so stronger
settings can come later without locking anyone out.
"""

from functools import cached_property

from werkzeug.security import check_password_hash, generate_password_hash


class WerkzeugPasswords:
    def __init__(self, method: str = "scrypt") -> None:
        # Tests may use a cheap method ("pbkdf2:sha256:1"); production keeps scrypt.
        self._method = method

    def hash(self, password: str) -> str:
        return generate_password_hash(password, method=self._method)

    def matches(self, stored: str | None, password: str) -> bool:
        """Whether `password` is the one `stored` was made from. `None` (no such account)
        is checked against a hash of our own and never matches: a sign-in for a phone
        without an account takes as long as one with."""
        if stored is None:
            check_password_hash(self._unknown_account, password)
            return False
        return check_password_hash(stored, password)

    @cached_property
    def _unknown_account(self) -> str:
        return self.hash("not-a-real-password")
