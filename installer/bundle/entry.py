"""Entry point of the bundled app: ``musicapp`` opens the GUI, ``musicapp COMMAND`` runs the CLI."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes of the library indexer
    from musicapp.cli import main

    sys.exit(main())
