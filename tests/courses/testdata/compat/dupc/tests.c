#include <check.h>
#include <stdlib.h>
#include <string.h>
#include "dup.h"

START_TEST(copies) {
    const char *s = "hello";
    char *d = dup(s);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_ne(d, s);
    ck_assert_str_eq(d, "hello");
    free(d);
} END_TEST

START_TEST(empty) {
    char *d = dup("");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d, "");
    free(d);
} END_TEST

int main(int argc, char **argv) {
    if (argc > 1) { /* once, under valgrind */
        free(dup(argv[1]));
        return 0;
    }
    Suite *s = suite_create("dup");
    TCase *tc = tcase_create("dup");
    tcase_add_test(tc, copies);
    tcase_add_test(tc, empty);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed == 0 ? 0 : 1;
}
