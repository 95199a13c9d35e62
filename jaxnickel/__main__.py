"""``python -m jaxnickel``: the command-line interface (:mod:`jaxnickel.cli`)."""

import sys

from .cli import main

sys.exit(main())
