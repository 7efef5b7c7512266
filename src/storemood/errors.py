"""Errors a user can fix. The CLI turns them into one line on stderr and exit status 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad usage or bad input: a missing file, an unknown name, a malformed config.

    The message is shown as is, so it should name the thing that is wrong and, where it helps, what
    would be right.
    """


#: Exit status of every command: success, anything unexpected (or a lost camera), bad usage or bad input.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
