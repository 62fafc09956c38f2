"""The pure trading domain: no threads, no I/O, no pykka, tornado or sqlalchemy."""
