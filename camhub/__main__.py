import sys

from camhub.cli import main

sys.exit(main())
