#include "sum.h"

int sum(int a, int b) {
@    @code@@
}
