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

import importlib
import importlib.util
import os
import runpy
import sys
import types

import inginious  # noqa: F401  (sys.modules["inginious"] below)

_MODULES = ("input", "feedback", "lang", "rst", "run_student", "ssh_student")

# What INGInious' ``from inginious_container_api.X import *`` also hands a
# run.py: its modules define no ``__all__``, so the modules they import
# come along (input's re, feedback's traceback and jinja2's Template,
# run_student's socket, tempfile...). Run files use them without an import
# of their own (``re.findall(...)`` in a run.py works on INGInious). The
# standard library's light ones are imported here; jinja2, asyncio,
# msgpack and zmq (about a second together on a loaded host) only when the
# run file first uses them.
_LEAKED = ("re", "traceback", "array", "socket", "tempfile", "struct", "threading")
_LAZY = ("asyncio", "msgpack", "zmq")


class _LazyModule(types.ModuleType):
    def __getattr__(self, attr):
        mod = importlib.import_module(self.__name__)
        self.__dict__.update(mod.__dict__)
        return getattr(mod, attr)


def _template(*args, **kwargs):
    from jinja2 import Template
    return Template(*args, **kwargs)


def _api_names():
    names = {}
    for name in _LEAKED:
        try:
            names[name] = importlib.import_module(name)
        except ImportError:
            pass
    for name in _LAZY:
        if importlib.util.find_spec(name) is not None:
            names[name] = _LazyModule(name)
    if importlib.util.find_spec("jinja2") is not None:
        names["Template"] = _template
    names["inginious_container_api"] = sys.modules["inginious"]
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
