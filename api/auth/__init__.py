"""Authentication: password hashing (JWT, TOTP and roles join it with the REST API)."""
