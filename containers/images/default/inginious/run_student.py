# -*- coding: utf-8 -*-
"""INGInious' ``run_student`` module: runs a command in a separate, more
restricted student container, through the helper's run_student command
(ssh_student for ssh=True). The command is a string split the shell's way,
as INGInious does; stdin, stdout, stderr and the signals pass through.

Return codes: the command's own, or 252 (out of memory), 253 (time limit),
254 (the student container could not be started, or root was asked)."""

import signal
import subprocess

from inginious import _helper

CODE_LAUNCH_ERROR = 254


def _limit_args(container, time_limit, hard_time_limit, memory_limit, share_network):
    args = []
    if container:
        args.append("--container=" + str(container))
    if time_limit:
        args.append("--time=" + str(time_limit))
    if hard_time_limit:
        args.append("--hard-time=" + str(hard_time_limit))
    if memory_limit:
        args.append("--memory=" + str(int(memory_limit)))
    if share_network:
        args.append("--share-network")
    return args


def _student_command(cmd, container, time_limit, hard_time_limit, memory_limit, share_network,
                     ssh, teardown_script):
    args = _limit_args(container, time_limit, hard_time_limit, memory_limit, share_network)
    if ssh:
        if cmd:
            args.append("--setup-script=" + str(cmd))
        if teardown_script:
            args.append("--teardown-script=" + str(teardown_script))
        return _helper.command("ssh_student", *args)
    args.append("--")
    if isinstance(cmd, (list, tuple)):
        args += [str(a) for a in cmd]
    else:
        args.append(str(cmd))  # one string: the helper splits it as a shell would
    return _helper.command("run_student", *args)


def run_student(cmd, container=None,
                time_limit=0, hard_time_limit=0,
                memory_limit=0, share_network=False,
                working_dir=None, stdin=None, stdout=None, stderr=None,
                signal_handler_callback=None, ssh=False, start_student_as_root=False, teardown_script=""):
    """Runs cmd (a string, split as a shell would) in a student container
    and returns its return code (see the module's documentation).

    Limits of 0 are the grading container's; larger ones are lowered to
    them. working_dir defaults to the current directory; stdin, stdout and
    stderr are file descriptors (or files), /dev/null when None.
    signal_handler_callback, if given, is called with a function that sends
    a signal number to the student's process. ssh=True gives the student an
    SSH session after cmd (the setup script) ran, then runs teardown_script.
    start_student_as_root is not supported: 254. Without ssh,
    teardown_script is ignored (the helper runs one only for SSH sessions).
    """
    if start_student_as_root:
        return CODE_LAUNCH_ERROR
    argv = _student_command(cmd, container, time_limit, hard_time_limit, memory_limit, share_network,
                            ssh, teardown_script)
    streams = [subprocess.DEVNULL if s is None else s for s in (stdin, stdout, stderr)]
    try:
        proc = subprocess.Popen(argv, stdin=streams[0], stdout=streams[1], stderr=streams[2],
                                cwd=working_dir)
    except OSError:
        return CODE_LAUNCH_ERROR
    if signal_handler_callback is not None:
        signal_handler_callback(proc.send_signal)  # the helper passes signals on
    code = proc.wait()
    return code if code >= 0 else CODE_LAUNCH_ERROR


def run_student_simple(cmd, cmd_input=None, container=None,
                       time_limit=0, hard_time_limit=0,
                       memory_limit=0, share_network=False,
                       working_dir=None, stdout_err_fuse=False, text="utf-8"):
    """Runs cmd in a student container with cmd_input (str or bytes, or
    None: no input) on its stdin, and returns (stdout, stderr, retval), or
    (stdout, retval) with stdout_err_fuse. The outputs are decoded with the
    encoding text; text=False returns bytes."""
    argv = _student_command(cmd, container, time_limit, hard_time_limit, memory_limit, share_network,
                            False, "")
    if isinstance(cmd_input, str):
        cmd_input = cmd_input.encode("utf-8")
    try:
        proc = subprocess.Popen(argv,
                                stdin=subprocess.DEVNULL if cmd_input is None else subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT if stdout_err_fuse else subprocess.PIPE,
                                cwd=working_dir)
        out, err = proc.communicate(cmd_input)
        retval = proc.returncode if proc.returncode >= 0 else CODE_LAUNCH_ERROR
    except OSError:
        out, err, retval = b"", b"", CODE_LAUNCH_ERROR
    decode = (lambda b: b) if text is False else (lambda b: b.decode(text))
    if stdout_err_fuse:
        return decode(out), retval
    return decode(out), decode(err or b""), retval


def _hack_signals(receive_signal):
    """Passes the signals the helper forwards (HUP, INT, QUIT, TERM, USR1,
    USR2, ALRM, WINCH) to receive_signal(signum) instead of handling them
    (INGInious' helper for signal_handler_callback). Not needed with ingo:
    the helper is in the run file's process group and gets them anyway."""
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM,
                signal.SIGUSR1, signal.SIGUSR2, signal.SIGALRM, signal.SIGWINCH):
        try:
            signal.signal(sig, lambda signum, _frame: receive_signal(signum))
        except (OSError, RuntimeError, ValueError):
            pass


__getattr__ = _helper.not_provided(__name__, ("run_student", "run_student_simple"))
