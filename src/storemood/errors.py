"""Errors a user can fix. The CLI turns them into one line on stderr and exit status 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad usage or bad input: a missing file, an unknown name, a malformed config.

    The message is shown as is, so it should name the thing that is wrong and, where it helps, what
    would be right.
    """


#: Exit status of every command: success, anything unexpected (or a lost camera), bad usage or bad input.
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def first_line(error: BaseException) -> str:
    """The first line of an error's own message (for a database error, the driver's: never SQL text or
    parameters), for messages and logs.

    >>> first_line(ValueError("bad value\\n[SQL: INSERT INTO events ...]"))
    'bad value'
    """
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
