"""Pykka actors and the messages only actors use: supervisor, scheduler, journal, bus."""
