"""``python -m livingcircle``."""

from livingcircle.cli import main

main()
