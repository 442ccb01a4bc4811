"""The package version (keep equal to pyproject.toml's), in a module of its own: the cache,
manifest and meaning keys read it without importing the package's public facade."""

__version__ = "0.2.0"
