"""``python -m anl``: see anl.cli."""

import sys

from anl.cli import main

sys.exit(main())
