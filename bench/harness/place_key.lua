-- W2k: W2 (place.lua) with an Idempotency-Key on every placement, unique per request.
with_key = true
dofile(os.getenv("BENCH_HARNESS") .. "/place.lua")
