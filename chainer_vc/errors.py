"""Errors a user can cause. Command-line tools print them as one line and exit with code 2."""


class InputError(Exception):
    """A problem with something the user gave us (a file, a manifest, a flag).

    The message is one line and names the file or value and the problem.
    """

    exit_code = 2
