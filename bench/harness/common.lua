-- Shared by the harness's wrk scripts: writes wrk's figures for the run as one JSON object to
-- $BENCH_RESULT (latencies in microseconds), with `extra` (a JSON fragment) appended.
function write_result(summary, latency, extra)
  local e = summary.errors
  local f = assert(io.open(os.getenv("BENCH_RESULT"), "w"))
  f:write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, "read_errors": %d,' ..
    ' "write_errors": %d, "status_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d,' ..
    ' "p99_us": %d, "max_us": %d, "mean_us": %.1f%s}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, extra and (", " .. extra) or ""))
  f:close()
end
