-- GET /api/v1/shops/{random 1..N}/products?page_size=20
local shops = tonumber(os.getenv("BENCH_SHOPS") or "100")
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/api/v1/shops/" .. math.random(1, shops) .. "/products?page_size=20")
end
