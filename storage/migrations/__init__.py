"""Alembic's environment and revision scripts. Alembic loads them by path; nothing imports them.

A package only so that setuptools ships the .py files here; see `storage.migrate`.
"""
