// Package courses grades a course written in the style of public INGInious
// courses (testdata/compat) through both of ingo's doors, a real `ingo up
// --inginious` on the local Docker engine: the INGInious bridge, driven by
// a Python webapp client speaking INGInious' protocol (testdata/client.py),
// and `ingo submit --course-dir`. Every case checks that both give the same
// result, field by field, and the result INGInious gives.
//
// The patterns: task.yaml in the old (environment, top-level limits) and
// new (environment_type/_id/_parameters) formats with limits as strings
// (hard_time: ”, a legacy output: '2'); parsetemplate and
// input.parse_template with indentation markers; gettext catalogs from
// /course/common/student/$i18n; py_compile into ./student and run_student
// python3 Runner.pyc where 127 means success; @random through jq and bc;
// ssh_student on docker-ssh; the course's $common run file; C with a
// Makefile, cppcheck (make check) and a segmentation fault that
// run_student returns as 256-11; Java in the toolchain image under
// LC_ALL=en_US.UTF-8 with a source not in ASCII; JUnit 4 tests on the
// java7 class path (/usr/share/java/junit.jar, hamcrest-core.jar) and
// Mockito on java8judge's (every jar of powermock-mockito2-junit-1.7.1),
// from a Python run file; Check unit tests and valgrind on a C task
// (cpp); a multiple-choice quiz (mcq) with its feedback in French.
package courses
