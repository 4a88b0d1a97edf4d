"""A bounded fuzz run of the importer (see :mod:`tryon.catalog.fuzz`):

    nice -n 5 python tools/fuzz_imports.py --runs 1000 --json fuzz.json
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tryon.catalog.fuzz import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
