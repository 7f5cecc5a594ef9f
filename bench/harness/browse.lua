-- W1: GET /api/v1/shops/{random}/products?page_size=20 over the shops listed (one id a line) in
-- $BENCH_DIR/shops. The same script drives nginx (which serves one page for any path).
dofile(os.getenv("BENCH_HARNESS") .. "/common.lua")
local shops = {}
for line in io.lines(os.getenv("BENCH_DIR") .. "/shops") do shops[#shops + 1] = line end
local seeded = false
function request()
  if not seeded then math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16)) seeded = true end
  return wrk.format("GET", "/api/v1/shops/" .. shops[math.random(#shops)] .. "/products?page_size=20")
end
function done(summary, latency, requests) write_result(summary, latency) end
