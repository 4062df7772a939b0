import sys

from rmapcheck.cli import main

sys.exit(main())
