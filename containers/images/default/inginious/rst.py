# -*- coding: utf-8 -*-
"""INGInious' ``rst`` module: reStructuredText snippets for the feedback,
byte for byte as INGInious writes them (lines are indented with a tab)."""

import os

from inginious import _helper

_ALERT_CLASSES = ("info", "danger", "warning", "success")


def _indented(text):
    return "".join("\t" + line + "\n" for line in text.splitlines())


def get_codeblock(language, text):
    """A code-block of text, highlighted as language."""
    return "\n\n.. code-block:: " + language + "\n\n" + _indented(text) + "\n"


def get_imageblock(filename, format=""):  # pylint: disable=redefined-builtin
    """A raw HTML block showing the image file filename inline (base64); the
    image type is format, else the file's extension. The helper's rst-image
    reads the file: after run_student, it refuses a link that leads out of
    /task/student (a hidden file shown in the feedback) where Python's open
    would follow it."""
    kind = format if format else os.path.splitext(filename)[1][1:]
    args = (["-f", kind] if kind else []) + ["--", filename]
    try:
        out = _helper.call("rst-image", *args)
    except _helper.HelperError as e:
        # What open() raised: tasks catch IOError (OSError) around it.
        raise OSError(str(e)) from e
    return out[:-1] if out.endswith("\n") else out  # rst-image ends the block with a line


def get_admonition(cssclass, title, text):
    """An admonition with a title (a note without one), coloured as the
    Bootstrap alert cssclass: info (also for unknown classes), danger,
    warning or success."""
    if cssclass not in _ALERT_CLASSES:
        cssclass = "info"
    head = ("\n\n.. admonition:: " + title + "\n") if title else "\n\n.. note:: \n"
    return head + "\t:class: alert alert-" + cssclass + "\n\n" + _indented(text) + "\n"


def indent_block(amount, text, indent_char="\t"):
    """Indents each line of text by amount indent_chars; a negative amount
    removes the first -amount of them (wherever they are in the line)."""
    out = []
    for line in text.splitlines():
        if amount > 0:
            out.append(indent_char * amount + line + "\n")
        else:
            keep = [c for i, c in enumerate(line) if c != indent_char or i + 1 > abs(amount)]
            out.append("".join(keep) + "\n")
    return "".join(out)


__getattr__ = _helper.not_provided(__name__, (
    "get_codeblock", "get_imageblock", "get_admonition", "indent_block"))
