#include <stdlib.h>
#include <string.h>
#include "dup.h"

char *dup(const char *s) {
@    @code@@
}
