"""Command-line conventions shared by the trainer and the generator: input errors are one line
on stderr and exit status 2, never a usage dump or a stack trace."""

import argparse
import sys
from typing import NoReturn

INPUT_ERROR_STATUS = 2


class InputError(Exception):
    """A problem with what the user passed; the message names it and the fix."""


def fail(prog: str, message: str) -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(INPUT_ERROR_STATUS)


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        fail(self.prog, f"{message} (see --help)")
