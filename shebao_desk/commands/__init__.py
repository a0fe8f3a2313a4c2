"""Every ``shebao-desk`` command: the argparse registry (``cli``) and its subcommand modules."""
