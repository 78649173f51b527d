"""``python -m xlclv.excel.templates [folder]``: regenerate the template workbooks."""

import sys

from xlclv.excel.templates import main

sys.exit(main())
