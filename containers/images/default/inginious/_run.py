# -*- coding: utf-8 -*-
"""Runs a task's run.py as INGInious' ``inginious-ipython`` does.

INGInious runs ``run.py`` (and ``run.py3``) through IPython, with the names
of its API modules already imported: run files call ``set_global_result``
or ``get_input`` without an import, and some use IPython's own syntax
(``out = !make``, ``%cd student``). Here the file runs with the same names
in its globals, ``__name__`` ``"__main__"`` and ``__file__`` its path; a
file that is not Python but is IPython runs in IPython (when the image has
it), any other as plain Python, which starts in a fraction of IPython's
time and behaves the same.
"""

import os
import runpy
import sys

_MODULES = ("input", "feedback", "lang", "rst", "run_student", "ssh_student")


def _api_names():
    names = {}
    for m in _MODULES:
        try:
            exec("from inginious.%s import *" % m, names)
        except ImportError:
            pass
    names.pop("__builtins__", None)
    return names


def main(path):
    # As ``python3 run.py`` would have them: the file's folder first in the
    # path (run files import their task's modules), itself as argv.
    sys.argv = [path]
    sys.path[0] = os.path.dirname(os.path.abspath(path))
    with open(path, "rb") as f:
        source = f.read()
    try:
        compile(source, path, "exec")
        plain = True
    except SyntaxError as err:
        plain, syntax_error = False, err
    if plain:
        # The file is the __main__ module, as with python3 run.py:
        # unittest.main() finds its tests there, pickle its classes.
        runpy.run_path(path, init_globals=_api_names(), run_name="__main__")
        return
    try:
        from IPython.core.interactiveshell import InteractiveShell
    except ImportError:
        raise syntax_error from None
    # Outside the except clause: IPython's traceback printer chokes on an
    # exception chained to the SyntaxError.
    shell = InteractiveShell()
    shell.user_ns.update(_api_names())
    shell.user_ns["__file__"] = path
    shell.safe_execfile_ipy(path, raise_exceptions=True)


if __name__ == "__main__":
    main(sys.argv[1])
