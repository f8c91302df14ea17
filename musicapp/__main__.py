"""``python -m musicapp`` entry point."""

import sys

from musicapp.cli import main

if __name__ == "__main__":
    sys.exit(main())
