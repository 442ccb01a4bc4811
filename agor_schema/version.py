"""The package version, in a module of its own: the cache, manifest and meaning keys read it
without importing the package's public facade (which reaches the runner)."""

__version__ = "0.2.0"
