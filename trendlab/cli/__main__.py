"""``python -m trendlab.cli``: the ``trendlab`` command."""

import sys

from trendlab.cli import main

sys.exit(main())
