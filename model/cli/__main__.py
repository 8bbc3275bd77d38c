"""``python -m tuopin.cli``: the ``tuopin`` command."""

import sys

from tuopin.cli import main

sys.exit(main())
