"""``python -m cimic_geo``: the command-line interface."""

import sys

from cimic_geo.cli import main

sys.exit(main())
