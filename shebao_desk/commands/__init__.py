"""Every ``shebao-desk`` command: the argparse registry (``cli``) and its subcommand modules.

Every module here is imported at every start (``cli.PLUGIN_MODULES``), so a handler imports what only
it needs inside itself: ``card read`` loads no SQLAlchemy, reportlab or Qt, the GUI no command's needs.
"""
