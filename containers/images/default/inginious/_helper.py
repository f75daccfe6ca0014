# -*- coding: utf-8 -*-
"""Internals shared by ingo's inginious modules: paths, calling the helper,
the feedback file's lock, and the error for names ingo does not provide."""

import dis
import fcntl
import json
import os
import shutil
import subprocess
import sys

ROOT = os.environ.get("INGO_HELPER_ROOT", "")


def path(p):
    """The container path p (absolute), under INGO_HELPER_ROOT when set."""
    return ROOT + p if ROOT else p


INPUT_FILE = path("/.ingo/input.json")
FEEDBACK_FILE = path("/.ingo/feedback.json")
LOCK_FILE = FEEDBACK_FILE + ".lock"
TASK_DIR = path("/task")


class HelperError(RuntimeError):
    """A helper command refused the call (bad result, bad problem id...);
    the message is the helper's."""

    def __init__(self, message, returncode=None):
        super().__init__(message)
        self.returncode = returncode


def helper_binary():
    """The helper program: INGO_HELPER if set, else ingo-helper on PATH."""
    explicit = os.environ.get("INGO_HELPER")
    if explicit:
        return explicit
    return shutil.which("ingo-helper") or "/usr/local/bin/ingo-helper"


def command(name, *args):
    """The argv running the helper's command name (the multi-call form, so
    that a Python script of the same name in PATH cannot answer instead)."""
    return [helper_binary(), name] + [str(a) for a in args]


def call(name, *args, stdin_text=None, with_stderr=False):
    """Runs a helper command and returns its stdout (str), or (stdout,
    stderr) with with_stderr. Its warnings go to our stderr too; a failure
    raises HelperError with the helper's message."""
    try:
        proc = subprocess.run(
            command(name, *args),
            input=(stdin_text.encode("utf-8", "surrogateescape") if stdin_text is not None else None),
            stdin=(None if stdin_text is not None else subprocess.DEVNULL),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            check=False,
        )
    except OSError as e:
        raise HelperError("cannot run the ingo helper (%s): %s" % (helper_binary(), e)) from e
    err = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        msg = err.strip() or "%s exited with code %d" % (name, proc.returncode)
        raise HelperError(msg, proc.returncode)
    if err:
        sys.stderr.write(err)
        sys.stderr.flush()
    out = proc.stdout.decode("utf-8", "replace")
    return (out, err) if with_stderr else out


class FeedbackLock:
    """The helper's flock on the feedback (shared to read, exclusive to
    write), so that Python and the commands never see half an update."""

    def __init__(self, exclusive):
        self.exclusive = exclusive
        self.fd = None

    def __enter__(self):
        self.fd = os.open(LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # closing releases the lock
        return False


def read_feedback():
    """The feedback dict (INGInious' layout); {} when nothing was set."""
    with FeedbackLock(False):
        try:
            with open(FEEDBACK_FILE, "r", encoding="utf-8") as f:
                content = f.read()
        except FileNotFoundError:
            return {}
    return json.loads(content) if content.strip() else {}


def write_feedback(rdict):
    """Replaces the whole feedback, atomically, under the lock."""
    data = json.dumps(rdict)
    with FeedbackLock(True):
        tmp = FEEDBACK_FILE + ".tmp-py"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, FEEDBACK_FILE)


_IMPORT_FROM = dis.opmap.get("IMPORT_FROM")


def not_provided(module, provided):
    """A module __getattr__ for the names ingo does not provide. For
    ``from module import name`` it raises ImportError (Python would replace
    an AttributeError's message by its own), else AttributeError."""
    implemented = ", ".join(sorted(n for n in provided if not n.startswith("_")))

    def missing(name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError("module %r has no attribute %r" % (module, name))
        msg = "%s.%s is not provided by ingo's inginious package (ingo implements: %s)" % (
            module, name, implemented)
        if _called_by_import_from():
            raise ImportError(msg, name=module)
        raise AttributeError(msg)

    return missing


def _called_by_import_from():
    """Whether the code asking for the missing name runs IMPORT_FROM."""
    try:
        here = os.path.dirname(os.path.realpath(__file__))
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_name in ("missing", "__getattr__") and \
                os.path.dirname(os.path.realpath(frame.f_code.co_filename)) == here:
            frame = frame.f_back
        if frame is None or _IMPORT_FROM is None:
            return False
        code = frame.f_code.co_code
        return 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] == _IMPORT_FROM
    except Exception:  # pylint: disable=broad-except
        return False
