"""The version of vaekit, in one place: the package, model files and run folders all read it here."""

__version__ = "0.2.0"
