-- W2: authenticated POST /api/v1/orders with 3 random items (distinct products of random shops,
-- so up to 3 shops), explicit `items`.
--
-- Customers: wrk's Lua has no per-connection hook, so each thread takes its own disjoint slice
-- of $BENCH_DIR/customer_tokens ("user_id token" lines; at least as many as connections) and
-- hands the next token of its slice to every request: concurrent requests come from different
-- customers. Products: $BENCH_DIR/products ("shop first_id last_id" lines).
--
-- W2k (place_key.lua) sets `with_key` before loading this file: every request then carries an
-- Idempotency-Key of its own (run nonce, thread, counter), as real apps send on every placement.
--
-- Exact accounting: from $BENCH_STOP_AT (epoch seconds) on, delay() parks every connection
-- after its response, so no placement is in flight when wrk stops and every order the server
-- committed has had its answer counted here. Statuses are counted in response() and written by
-- done() with wrk's figures to $BENCH_RESULT.
dofile(os.getenv("BENCH_HARNESS") .. "/common.lua")
local dir = os.getenv("BENCH_DIR")
local stop_at = tonumber(os.getenv("BENCH_STOP_AT"))
local nthreads = tonumber(os.getenv("BENCH_THREADS"))
local threads, made = {}, 0

function setup(thread)
  thread:set("tid", made)
  made = made + 1
  threads[#threads + 1] = thread
end

local tokens, products, errors_logged, next_token, sent = {}, {}, 0, 0, 0
local nonce = ""
counts = {}  -- global: done() reads it from every thread

function init(args)
  local i = 0
  for line in io.lines(dir .. "/customer_tokens") do
    if i % nthreads == tid then tokens[#tokens + 1] = line:match("%S+%s+(%S+)") end
    i = i + 1
  end
  for line in io.lines(dir .. "/products") do
    local _, a, b = line:match("(%d+)%s+(%d+)%s+(%d+)")
    products[#products + 1] = { tonumber(a), tonumber(b) }
  end
  math.randomseed(os.time() * 17 + tid * 7919)
  nonce = string.format("w2k-%d-%d-%d", os.time(), math.random(1000000000), tid)
end

function delay()
  if os.time() >= stop_at then return 3600000 end
  return 0
end

function request()
  next_token = next_token % #tokens + 1
  local picked, items = {}, {}
  while #items < 3 do
    local r = products[math.random(#products)]
    local p = math.random(r[1], r[2])
    if not picked[p] then
      picked[p] = true
      items[#items + 1] = '{"product_id":' .. p .. ',"quantity":1}'
    end
  end
  local body = '{"receiver_name":"Bench receiver","receiver_phone":"+201000000000",' ..
    '"location":{"address":"Bench street","latitude":30.06,"longitude":31.24},"items":[' ..
    table.concat(items, ",") .. ']}'
  local headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. tokens[next_token],
  }
  if with_key then
    sent = sent + 1
    headers["Idempotency-Key"] = nonce .. "-" .. sent
  end
  return wrk.format("POST", "/api/v1/orders", headers, body)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status ~= 201 and errors_logged < 5 then
    errors_logged = errors_logged + 1
    local f = io.open(dir .. "/w2_errors.log", "a")
    if f then f:write(status, " ", body or "", "\n") f:close() end
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts") or {}) do total[k] = (total[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(total) do parts[#parts + 1] = '"' .. k .. '": ' .. v end
  write_result(summary, latency, '"statuses": {' .. table.concat(parts, ", ") .. '}')
end
