# -*- coding: utf-8 -*-
"""INGInious' ``lang`` module: init() installs gettext's ``_`` into the
builtins, translating with the task's lang/<LANG>/LC_MESSAGES/messages.mo
into the student's language (@lang). A message without a translation is
returned as it is. ``lang._(message)`` works too, before or after init()."""

import builtins
import gettext
import os

from inginious import _helper


def get_lang_dir_path():
    """The folder of the task's translations: /task/lang."""
    return os.path.join(_helper.TASK_DIR, "lang")


def init():
    """Installs gettext (``_`` in the builtins) for the student's language;
    does nothing when ``_`` is already installed."""
    if "_" in builtins.__dict__:
        return
    try:
        from inginious import input as _input  # pylint: disable=import-outside-toplevel
        lang = _input.get_lang()
    except (KeyError, OSError, ValueError):
        lang = None  # no @lang: untranslated
    if lang:
        os.environ["LANGUAGE"] = str(lang)
    gettext.install("messages", get_lang_dir_path())


def _(message):
    """Translates message into the student's language (see init)."""
    init()
    return builtins.__dict__["_"](message)


__getattr__ = _helper.not_provided(__name__, ("init", "get_lang_dir_path", "_"))
