# -*- coding: utf-8 -*-
"""INGInious' ``input`` module: the student's answers and the submission's
details, read from the job input (/.ingo/input.json, whose "input" object
is INGInious' inputdata). parse_template is the helper's parsetemplate."""

import base64
import datetime
import json
import os

from inginious import _helper

# Where the helper writes each uploaded file: FILES_DIR/<problem id>/<name>.
FILES_DIR = _helper.path("/.ingo/files")


def _load_input():
    """The whole job input ({"input": {...}, "limits": ..., ...}), as
    INGInious gives it: an uploaded file's "value" is the path of the file
    (run files open it themselves), where the helper could write it; else
    its content in base64, as the job input holds it."""
    with open(_helper.INPUT_FILE, "r", encoding="utf-8") as f:
        data = json.loads(f.read().strip("\0").strip())
    inputs = data.get("input") if isinstance(data, dict) else None
    if isinstance(inputs, dict):
        for pid, value in inputs.items():
            if _is_file(value):
                upload = _upload_path(pid)
                if upload is not None:
                    value["value"] = upload
    return data


load_input = _load_input


def _is_file(value):
    return isinstance(value, dict) and "filename" in value and "value" in value


def _upload_path(pid):
    """The file the helper wrote for problem pid (the only one of its
    folder), or None: the helper skips ids unfit for a path."""
    if pid in ("", ".", "..") or "/" in pid or any(ord(c) < 0x20 or ord(c) == 0x7F for c in pid):
        return None
    folder = os.path.join(FILES_DIR, pid)
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    if len(names) != 1 or not os.path.isfile(os.path.join(folder, names[0])):
        return None
    return os.path.join(folder, names[0])


def get_input(problem):
    """Returns the answer to a problem: a string, a list (multiple choice)...
    as the client sent it; for an uploaded file, its content as bytes, or
    its name with "problem:filename". A missing id raises KeyError, as
    INGInious."""
    parts = problem.split(":")
    value = _load_input()["input"][parts[0]]
    if _is_file(value):
        if len(parts) > 1 and parts[1] == "filename":
            return value["filename"]
        content = value["value"]
        if content.startswith(FILES_DIR + "/"):  # never base64: no "."
            with open(content, "rb") as f:
                return f.read()
        return base64.b64decode(content)
    return value


def get_username():
    """Returns the username of the student (comma-separated for a group)."""
    return get_input("@username")


def get_lang():
    """Returns the student's language (a two-letter ISO 639-1 code)."""
    return get_input("@lang")


def get_submission_time():
    """Returns the submission time (@time) as a datetime."""
    value = get_input("@time")
    try:
        return datetime.datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f")
    except ValueError:
        return datetime.datetime.fromisoformat(value)


def parse_template(input_filename, output_filename=""):
    """Replaces every @@problem_id@@ (or @PREFIX@problem_id@SUFFIX@, per
    line) in input_filename by the answer and writes output_filename (by
    default: input_filename itself)."""
    args = []
    if output_filename:
        args.append("--output=" + str(output_filename))
    _helper.call("parsetemplate", *args, "--", input_filename)


__getattr__ = _helper.not_provided(__name__, (
    "get_input", "get_username", "get_lang", "get_submission_time", "parse_template", "load_input"))
