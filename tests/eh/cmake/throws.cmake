# cmake -P input (tests/scripts/eh.sh): cmake's JSON parser reports the
# malformed document by throwing internally.
string(JSON out ERROR_VARIABLE err GET "{\"a\": [1, 2" a)
message("json: ${err}")
string(JSON n LENGTH "[1, 2, 3]")
message("length: ${n}")
string(JSON out ERROR_VARIABLE err GET "{\"a\": 1}" b)
message("missing member: ${err}")
string(REGEX MATCH "(" out "abc")
