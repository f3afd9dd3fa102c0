"""The shipped signature database (TOML files), installed as package data."""
