# -*- coding: utf-8 -*-
"""INGInious' ``feedback`` module: sets the result, grade, texts, tags,
custom values and state of the job. Each setter is one call of the helper's
command of the same purpose (feedback-result, feedback-grade, feedback-msg,
tag-set, tag, feedback-custom, feedback-state, feedback-msg-tpl), so the
rules are the helper's: a refused value (an empty result, a problem id with
characters INGInious does not accept, a grade that is not a finite number)
raises HelperError with the helper's message."""

import json

from inginious import _helper
from inginious._helper import HelperError  # noqa: F401  (for `except feedback.HelperError`)


def _load_feedback():
    """The current feedback (INGInious' name)."""
    return _helper.read_feedback()


def get_feedback():
    """Returns the dictionary containing the feedback, in INGInious'
    layout: {"result", "text", "grade", "problems": {id: text or [result,
    text]}, "tests", "custom", "state"}, each key only when set."""
    return _helper.read_feedback()


def save_feedback(rdict):
    """Replaces the whole feedback by rdict (INGInious' layout)."""
    _helper.write_feedback(rdict)


def set_global_result(result):
    """Sets the result of the task: success, failed, error, crash, timeout,
    overflow or killed."""
    _helper.call("feedback-result", "--", result)


def set_problem_result(result, problem_id):
    """Sets the result of one problem."""
    _helper.call("feedback-result", "--id=" + str(problem_id), "--", result)


def set_grade(grade):
    """Sets the grade (a float, usually 0 to 100)."""
    _helper.call("feedback-grade", "--", repr(float(grade)))


def _check_text(text):
    if not isinstance(text, str):
        raise ValueError("Feedback doesn't match correct instance")


def set_global_feedback(feedback, append=False):
    """Sets (or appends to) the feedback text of the task."""
    _check_text(feedback)
    args = ["--append"] if append else []
    _helper.call("feedback-msg", *args, stdin_text=feedback)


def set_problem_feedback(feedback, problem_id, append=False):
    """Sets (or appends to) the feedback text of one problem."""
    _check_text(feedback)
    args = ["--id=" + str(problem_id)] + (["--append"] if append else [])
    _helper.call("feedback-msg", *args, stdin_text=feedback)


def set_state(state):
    """Sets the state given to the student's next submission as @state."""
    _helper.call("feedback-state", "--", state if isinstance(state, str) else str(state))


def set_tag(tag, value):
    """Sets the tag `tag` to True or False (value == True). Ids starting with
    ``*auto-tag-`` are ignored, as in INGInious."""
    if str(tag).startswith("*auto-tag-"):
        return
    _helper.call("tag-set", "--", tag, "true" if value == True else "false")  # noqa: E712 (INGInious' test)


def tag(value):
    """Adds a tag with a generated id showing str(value)."""
    _helper.call("tag", "--", str(value))


def set_custom_value(custom_name, custom_val):
    """Sets custom[custom_name] = custom_val (any JSON value) in the result."""
    _helper.call("feedback-custom", "--json", "--", custom_name, json.dumps(custom_val))


def set_feedback_from_tpl(tpl_name, parameters, problem_id=None, append=False):
    """Sets the feedback text (of the task, or of problem_id) from the
    template tpl_name, looked for as INGInious does: tpl_name.LANG.tpl,
    /task/lang/LANG/tpl_name.tpl, tpl_name.tpl. Rendered by the helper's
    feedback-msg-tpl, with Jinja2 (sandboxed) as INGInious renders it: each
    parameter is given as str(value). Returns False when the
    template is missing or could not be rendered (the feedback then says
    so, as INGInious'), else True."""
    try:
        from inginious import lang  # pylint: disable=import-outside-toplevel
        lang.init()
    except Exception:  # pylint: disable=broad-except
        pass
    args = []
    if append:
        args.append("--append")
    if problem_id is not None:
        args.append("--id=" + str(problem_id))
    args += ["--", tpl_name] + ["%s=%s" % (k, v) for k, v in (parameters or {}).items()]
    _, warnings = _helper.call("feedback-msg-tpl", *args, with_stderr=True)
    return "feedback-msg-tpl:" not in warnings


__getattr__ = _helper.not_provided(__name__, (
    "get_feedback", "save_feedback", "set_global_result", "set_problem_result", "set_grade",
    "set_global_feedback", "set_problem_feedback", "set_state", "set_tag", "tag",
    "set_custom_value", "set_feedback_from_tpl"))
