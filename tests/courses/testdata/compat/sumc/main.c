#include <stdio.h>
#include "sum.h"

int main(void) {
    int a, b;
    if (scanf("%d %d", &a, &b) != 2)
        return 2;
    printf("%d\n", sum(a, b));
    return 0;
}
