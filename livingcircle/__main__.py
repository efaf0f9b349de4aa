"""``python -m livingcircle``."""

from livingcircle.cli import main

if __name__ == "__main__":
    main()
