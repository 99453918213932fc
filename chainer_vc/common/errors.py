"""Errors a user can cause. Command-line tools print them as one line and exit with code 2."""
import contextlib
import sys
import warnings


class InputError(Exception):
    """A problem with something the user gave us (a file, a manifest, a flag).

    The message is one line and names the file or value and the problem.
    """

    exit_code = 2


class InputWarning(UserWarning):
    """Something odd about an input that the tools work around, and say so (e.g. speech
    with no voiced frames keeps its own F0). Raised where the input's name is not known;
    :func:`warnings_about` names it."""


_reported = set()


@contextlib.contextmanager
def warnings_about(name):
    """Print the :class:`InputWarning` s raised in the block as ``warning: NAME: message``
    on stderr, each (name, message) once per process: the judge converts one recording to
    every target, and says what is odd about it once. Other warnings pass on unchanged."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always', InputWarning)
        yield
    for warning in caught:
        if issubclass(warning.category, InputWarning):
            key = (str(name), str(warning.message))
            if key not in _reported:
                _reported.add(key)
                print(f'warning: {name}: {warning.message}', file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno, source=warning.source)
