"""One module per ``tuopin`` subcommand (``add_parser`` registers it, ``main`` runs it)."""
