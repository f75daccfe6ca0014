# Runs in the student container: prints square(n) for each n given on the
# command line, one a line, with the student's square.py beside it.
import sys

from square import square

for arg in sys.argv[1:]:
    print(square(int(arg)), flush=True)
