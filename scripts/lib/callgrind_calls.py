"""Calls made to functions, from a callgrind profile.

    python3 scripts/lib/callgrind_calls.py PROFILE REGEX

prints the number of calls made to every function whose name matches REGEX
(summed over all callers), read from the profile's `cfn=`/`calls=` lines:
e.g. `'^(malloc|calloc|realloc|posix_memalign|aligned_alloc)$'` counts heap
allocations. Used by scripts/bench-grpc-callgrind.sh (allocations per call).
"""

import re
import sys


def main() -> None:
    path, pattern = sys.argv[1], re.compile(sys.argv[2])
    # Callgrind compresses names: "(id) name" the first time, "(id)" after.
    names: dict[str, str] = {}
    callee = None
    total = 0
    with open(path, errors="replace") as profile:
        for line in profile:
            if line.startswith("cfn="):
                match = re.match(r"\((\d+)\)(?: (.*))?", line[4:].strip())
                if match is None:
                    callee = line[4:].strip()
                    continue
                if match.group(2):
                    names[match.group(1)] = match.group(2)
                callee = names.get(match.group(1), "")
            elif line.startswith("fn="):
                match = re.match(r"\((\d+)\)(?: (.*))?", line[3:].strip())
                if match and match.group(2):
                    names[match.group(1)] = match.group(2)
                callee = None
            elif line.startswith("calls=") and callee and pattern.search(callee):
                total += int(line[6:].split()[0])
    print(total)


if __name__ == "__main__":
    main()
