"""Fake exchange servers on 127.0.0.1 that real ccxt talks to through URL overrides."""
