"""``python -m realtalk`` is the ``realtalk`` command."""

import sys

from realtalk.cli import main

sys.exit(main())
