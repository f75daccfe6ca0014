def square(n):
    # n additions of n: right, but far too slow for a large n
    total = 0
    for _ in range(abs(n)):
        total += abs(n)
    return total
