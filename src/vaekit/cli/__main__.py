"""``python -m vaekit.cli``: the command line, run as a module."""

import sys

from vaekit.cli.main import main

sys.exit(main())
