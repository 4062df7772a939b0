"""The ``rmapcheck`` command line: ``main`` (the console script
``rmapcheck = "rmapcheck.cli:main"``, and ``python -m rmapcheck``).

``main.py`` holds the parser, the dispatch and the error handling;
``options.py`` what the subcommands' arguments share; ``outcome.py`` how a
result is printed and becomes the exit code; and one ``*_command.py`` per
subcommand. Nothing below the command line imports it.
"""

from rmapcheck.cli.main import main

__all__ = ["main"]
