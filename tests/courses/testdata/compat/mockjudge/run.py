#!/usr/bin/python3
# As the shared run file of a java8judge course: every jar of the judge's
# folder on the class path, the student's class compiled with the tests,
# JUnit run as the student, one line of feedback per failed test.
import glob, re, subprocess

from inginious import feedback, input, rst

JARS = ":".join(sorted(glob.glob("/usr/share/java/powermock-mockito2-junit-1.7.1/*.jar")))

input.parse_template("Greeter.java.tpl", "student/Greeter.java")
for f in ("Clock.java", "GreeterTest.java"):
    subprocess.run(["cp", f, "student/"], check=True)
javac = subprocess.run(["javac", "-cp", JARS, "-d", "student", "student/Clock.java", "student/Greeter.java",
                        "student/GreeterTest.java"], capture_output=True, text=True)
if javac.returncode != 0:
    feedback.set_global_result("failed")
    feedback.set_problem_result("failed", "greet")
    feedback.set_global_feedback("Your code does not compile:\n\n" + rst.get_codeblock("text", javac.stderr))
    raise SystemExit(0)

junit = subprocess.run(["run_student", "java", "-Xmx192m", "-cp", "student:" + JARS, "org.junit.runner.JUnitCore",
                        "GreeterTest"], capture_output=True, text=True)
ran = re.search(r"Tests run: (\d+),\s+Failures: (\d+)", junit.stdout)
total, failed = (3, 0) if "OK (3 tests)" in junit.stdout else (int(ran.group(1)), int(ran.group(2))) if ran else (3, 3)
feedback.set_grade(100 * (total - failed) / total)
if failed == 0:
    feedback.set_global_result("success")
    feedback.set_problem_result("success", "greet")
    feedback.set_global_feedback("All 3 tests passed, the clock was asked.")
else:
    feedback.set_global_result("failed")
    feedback.set_problem_result("failed", "greet")
    names = re.findall(r"^\d+\) (\w+)\(GreeterTest\)", junit.stdout, re.M)
    feedback.set_global_feedback("%d of %d tests failed: %s." % (failed, total, ", ".join(names)))
