"""The traderd process: command line, boot and shutdown order, signals, logging."""

__version__ = "0.1.0"
