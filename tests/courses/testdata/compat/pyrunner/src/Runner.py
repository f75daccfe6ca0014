import sys

import q

failed = 0
for x, want in ((1, 2), (0, 0), (-4, -8)):
    got = q.double(x)
    if got == want:
        print("ok double(%d)" % x)
    else:
        print("KO double(%d) = %r, not %r" % (x, got, want))
        failed += 1
sys.exit(127 if failed == 0 else 1)
