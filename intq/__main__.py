"""`python -m intq` runs the command line."""
import sys

from intq.cli import main

sys.exit(main())
