"""shebao-desk: the workstation of a county social security card service window."""

__version__ = "0.1.0"
