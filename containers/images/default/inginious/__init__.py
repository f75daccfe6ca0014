# -*- coding: utf-8 -*-
"""ingo's ``inginious`` package: INGInious' in-container Python API.

Run files written for INGInious do ``from inginious import feedback, input,
rst, lang`` (or ``import inginious.feedback``...). This package gives them
the same module and function names and signatures. The work is done by the
in-container helper (``ingo-helper``, the program behind ``feedback-result``,
``getinput``, ``run_student``...), called through subprocess, so that the
rules are implemented once; the job input is read from /.ingo/input.json.

Standard library only. INGO_HELPER_ROOT, when set, prefixes /.ingo and
/task as it does for the helper (for tests outside a container).

A name INGInious has and ingo does not provide fails with an error naming
it (AttributeError, or ImportError for ``from ... import``).
"""

import importlib as _importlib

from inginious import _helper

#: INGInious' debug switch; ingo ignores it (paths come from INGO_HELPER_ROOT).
DEBUG = False

_SUBMODULES = ("feedback", "input", "lang", "rst", "run_student", "ssh_student")

_not_provided = _helper.not_provided(__name__, ("DEBUG",) + _SUBMODULES)


def __getattr__(name):
    if name in _SUBMODULES:
        return _importlib.import_module(__name__ + "." + name)
    return _not_provided(name)


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
