# CPU-bound Python for bench/profile.sh's sampler: recursion, list and dict
# work, sorting with a key function (C calling back into Python), string
# formatting and json.  Runs for SECONDS of CPU time (default 1.5):
#   python3 bench/profile_work.py [SECONDS]
import json
import sys
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def words(n):
    return ["w%05d" % ((i * 7919) % 10007) for i in range(n)]


def tally(ws):
    d = {}
    for w in ws:
        d[w[:3]] = d.get(w[:3], 0) + len(w)
    return d


def nested(depth, seed):
    # a Python recursion that goes through C (map, sorted's key)
    if depth == 0:
        return sum(sorted(range(seed % 97, 300), key=lambda x: (x * 31) % 17))
    return sum(map(lambda k: nested(depth - 1, seed + k), range(2)))


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.5
    end = time.process_time() + seconds
    check = 0
    rounds = 0
    while time.process_time() < end:
        check += fib(18)
        ws = words(2000)
        d = tally(ws)
        check += len(json.dumps(d, sort_keys=True))
        check += sorted(ws, key=lambda w: w[::-1])[0].__len__()
        check += nested(6, rounds)
        rounds += 1
    print("profile_work: %d rounds, checksum %d" % (rounds, check))


main()
