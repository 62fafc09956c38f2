"""The Tornado application: routes, handlers, errors. Talks to actors by messages only."""
