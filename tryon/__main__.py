import sys

from tryon.cli import main

sys.exit(main())
