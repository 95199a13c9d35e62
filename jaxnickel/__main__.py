"""``python -m jaxnickel``: the command-line interface (:mod:`jaxnickel.cli`)."""

from .cli import run

run()
