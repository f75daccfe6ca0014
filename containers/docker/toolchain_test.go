package docker

import (
	"testing"

	"github.com/ingo-grader/ingo/internal/testutil"
	"github.com/ingo-grader/ingo/messages"
)

const toolchainRun = `#!/bin/bash
set -e
cat > Hello.java <<'J'
public class Hello { public static void main(String[] a) { System.out.println("java says " + a[0]); } }
J
javac Hello.java
out=$(java -Xmx64m -Xss512k Hello hi)
cat > t.c <<'C'
#include <CUnit/Basic.h>
static void add(void) { CU_ASSERT_EQUAL(1 + 1, 2); }
int main(void) {
	CU_initialize_registry();
	CU_add_test(CU_add_suite("s", 0, 0), "add", add);
	CU_basic_set_mode(CU_BRM_SILENT);
	CU_basic_run_tests();
	int failed = CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed;
}
C
gcc t.c -o t -lcunit
./t
g++ --version >/dev/null; python3 -c 'import inginious.feedback'
# JUnit 4 and hamcrest where java7 courses' run files look for them.
cat > AddTest.java <<'J'
import org.junit.Test;
import static org.junit.Assert.*;
import static org.hamcrest.CoreMatchers.is;
public class AddTest {
	@Test public void adds() { assertEquals(4, 2 + 2); assertThat(2 * 3, is(6)); }
}
J
cp=/usr/share/java/junit.jar:/usr/share/java/hamcrest-core.jar
javac -cp $cp AddTest.java
junit=$(java -Xmx64m -cp .:$cp org.junit.runner.JUnitCore AddTest | grep -o 'OK (1 test)')
# Mockito through java8judge's class path, every jar of one folder.
cat > MockTest.java <<'J'
import java.util.List;
import org.junit.Test;
import static org.junit.Assert.assertEquals;
import static org.mockito.Mockito.*;
public class MockTest {
	@Test @SuppressWarnings("unchecked") public void mocks() {
		List<String> l = mock(List.class);
		when(l.get(0)).thenReturn("x");
		assertEquals("x", l.get(0));
		verify(l).get(0);
	}
}
J
judge='/usr/share/java/powermock-mockito2-junit-1.7.1/*'
javac -cp "$judge" MockTest.java
mockito=$(java -Xmx128m -cp ".:$judge" org.junit.runner.JUnitCore MockTest | grep -o 'OK (1 test)')
# Check, built with clang; valgrind finds a leak and passes the test.
cat > c.c <<'C'
#include <check.h>
#include <stdlib.h>
START_TEST(add) { ck_assert_int_eq(1 + 1, 2); } END_TEST
int main(int argc, char **argv) {
	if (argc > 1) { char *p = malloc(64); p[0] = 1; return p[0] - 1; }
	Suite *s = suite_create("s");
	TCase *tc = tcase_create("c");
	tcase_add_test(tc, add);
	suite_add_tcase(s, tc);
	SRunner *r = srunner_create(s);
	srunner_set_fork_status(r, CK_NOFORK);
	srunner_run_all(r, CK_SILENT);
	int failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed;
}
C
clang -g c.c -o c -lcheck -lsubunit -lm
./c
valgrind -q --error-exitcode=3 --leak-check=full ./c && clean=clean
valgrind -q --error-exitcode=3 --leak-check=full ./c leak 2>/dev/null || leak="leak $?"
# gdb, as a teacher debugging in the container would: where it crashed.
printf 'int main(void) { volatile int *p = 0; return *p; }\n' > crash.c
gcc -g crash.c -o crash
where=$(gdb -q -batch -ex run -ex bt ./crash 2>&1 | grep -o 'SIGSEGV\|in main () at crash.c:1' | sort -u | tr '\n' ' ')
# libclang's C API, as C courses' checkers link it (clang-c/Index.h,
# -lclang): the functions crash.c defines.
cat > funcs.c <<'C'
#include <clang-c/Index.h>
#include <stdio.h>
static enum CXChildVisitResult visit(CXCursor c, CXCursor parent, CXClientData n) {
	if (clang_getCursorKind(c) == CXCursor_FunctionDecl && clang_Location_isFromMainFile(clang_getCursorLocation(c)))
		(*(int *)n)++;
	return CXChildVisit_Continue;
}
int main(int argc, char **argv) {
	CXIndex idx = clang_createIndex(0, 0);
	CXTranslationUnit tu = clang_parseTranslationUnit(idx, argv[1], NULL, 0, NULL, 0, 0);
	if (!tu) return 2;
	int n = 0;
	clang_visitChildren(clang_getTranslationUnitCursor(tu), visit, &n);
	printf("%d", n);
	return 0;
}
C
clang -std=gnu99 funcs.c -o funcs -lclang
functions=$(./funcs crash.c)
# git and GitPython.
git init -q r
git -C r -c user.name=t -c user.email=t@example.org commit -q --allow-empty -m first
commits=$(python3 -c 'from git import Repo; print(len(list(Repo("r").iter_commits())))')
feedback-result success
feedback-msg -m "$out, cunit ok, JAVA_HOME=$JAVA_HOME, junit $junit, mockito $mockito, check ok, valgrind $clean $leak, gdb $where, libclang functions $functions, commits $commits"
`

// TestToolchain: the toolchain image compiles and runs Java (JUnit 4,
// Mockito), CUnit and Check tests, valgrind, libclang and git as
// INGInious' Java and C courses do, at the paths their run files name.
func TestToolchain(t *testing.T) {
	t.Parallel()
	testutil.RequireImage(t, "ingo/env-toolchain")
	r := newTestRuntime(t, Options{})
	job := newJob(r, task(t, map[string]string{"run": toolchainRun}), nil)
	job.Desc.Environment = "toolchain"
	job.Limits = messages.Limits{Time: 60, HardTime: 120, Memory: 768, Processes: 512, Output: 1 << 20, Disk: 128}
	res, _ := runJob(t, r, job)
	want := "java says hi, cunit ok, JAVA_HOME=/usr/lib/jvm/default-java, junit OK (1 test), mockito OK (1 test), check ok, valgrind clean leak 3, gdb SIGSEGV in main () at crash.c:1 , libclang functions 1, commits 1"
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != want {
		t.Errorf("got %s %q, want success %q", res.Result.Status, res.Result.Text, want)
	}
}

// fedoraMockitoRun compiles and runs a Mockito spy with the class path of
// UCL-INGI/CS1-Java's common run file (INGInious' java8 image, on
// Fedora/CentOS): Mockito and its dependencies in folders of their own.
const fedoraMockitoRun = `#!/bin/bash
set -e
cat > Greeter.java <<'J'
public class Greeter { public String hi() { return "hi"; } public String twice() { return hi() + hi(); } }
J
cat > SpyTest.java <<'J'
import org.junit.Test;
import static org.junit.Assert.assertEquals;
import org.mockito.Mockito;
import static org.mockito.Mockito.*;
public class SpyTest {
	@Test public void spies() {
		Greeter g = Mockito.spy(new Greeter());
		assertEquals("hihi", g.twice());
		verify(g, atLeast(2)).hi();
	}
}
J
cp=.:/usr/share/java/junit.jar:/usr/share/java/hamcrest/core.jar:/usr/share/java/mockito/mockito-core.jar:/usr/share/java/cglib/cglib.jar:/usr/share/java/objenesis/objenesis.jar:/usr/share/java/objectweb-asm/asm-all.jar
javac -cp $cp Greeter.java SpyTest.java 2>&1 | feedback-msg
feedback-msg -a -m "$(java -Xmx128m -cp $cp org.junit.runner.JUnitCore SpyTest | grep -o 'OK (1 test)')"
feedback-result success
`

// TestToolchain_FedoraMockitoPaths: Mockito is where the run files of
// courses written for INGInious' Fedora-based java8 image look for it
// (/usr/share/java/mockito/mockito-core.jar, objenesis/objenesis.jar...),
// as hamcrest/core.jar is: before, their Mockito tests did not compile.
// Needs the toolchain image built from this commit's Dockerfile.
func TestToolchain_FedoraMockitoPaths(t *testing.T) {
	t.Parallel()
	testutil.RequireImage(t, "ingo/env-toolchain")
	r := newTestRuntime(t, Options{})
	job := newJob(r, task(t, map[string]string{"run": fedoraMockitoRun}), nil)
	job.Desc.Environment = "toolchain"
	job.Limits = messages.Limits{Time: 60, HardTime: 120, Memory: 768, Processes: 512, Output: 1 << 20, Disk: 128}
	res, _ := runJob(t, r, job)
	if res.Result.Status != messages.StatusSuccess || res.Result.Text != "OK (1 test)" {
		t.Errorf("got %s %q, want success %q", res.Result.Status, res.Result.Text, "OK (1 test)")
	}
}
