"""The daemon's configuration: pydantic schema, TOML loader with env overrides."""
