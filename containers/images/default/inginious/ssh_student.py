# -*- coding: utf-8 -*-
"""INGInious' ``ssh_student`` module: gives the student an SSH session in a
student container (the helper's ssh_student command); the run file goes on
when the session ended. Needs an environment and agent that allow SSH."""

import sys

from inginious import _helper
from inginious import run_student as _run_student


def ssh_student(setup_script=None, memory_limit=0, hard_time_limit=0, time_limit=0, container=None,
                run_as_root=False, teardown_script=None):
    """Runs setup_script (a command string) in a student container, then
    lets the student log in by SSH; runs teardown_script after the session.
    Returns 0 when the student logged in and out, 253 when nobody logged in
    in time or the session reached its maximum, 254 when it could not start
    (run_as_root is not supported: 254)."""
    return _run_student.run_student(
        cmd=setup_script, container=container, time_limit=time_limit,
        hard_time_limit=hard_time_limit, memory_limit=memory_limit,
        stdin=sys.stdin.fileno(), stdout=sys.stdout.fileno(), stderr=sys.stderr.fileno(),
        # no signal_handler_callback: the helper, in this process group,
        # gets the signals sent to the run file and passes them on
        ssh=True, start_student_as_root=run_as_root, teardown_script=teardown_script)


__getattr__ = _helper.not_provided(__name__, ("ssh_student",))
