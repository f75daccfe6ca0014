#!/usr/bin/python3
"""Compiles each source given into ./student/NAME.pyc; on a syntax error,
prints it and exits 1 (the run file shows it to the student)."""
import os
import py_compile
import sys

for src in sys.argv[1:]:
    name = os.path.splitext(os.path.basename(src))[0]
    try:
        py_compile.compile(src, cfile=os.path.join("student", name + ".pyc"), doraise=True)
    except py_compile.PyCompileError as e:
        print(e.msg)
        sys.exit(1)
