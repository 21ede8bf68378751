"""``python -m textclf``: the command line of :mod:`textclf.cli`."""

import sys

from .cli import main

sys.exit(main())
