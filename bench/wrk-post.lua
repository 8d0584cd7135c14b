-- wrk script: POSTs one small non-stream chat completion request and prints one machine-readable RESULT line.
-- Environment: BENCH_MODEL (model name), BENCH_KEY (API key), BENCH_EXTRA_HEADER ("name: value", optional).
local model = os.getenv("BENCH_MODEL") or "bench-fast"
local key = os.getenv("BENCH_KEY") or "none"
local extra = os.getenv("BENCH_EXTRA_HEADER")

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
if extra and extra ~= "" then
  local name, value = extra:match("^([^:]+):%s*(.*)$")
  if name then wrk.headers[name] = value end
end
wrk.body = '{"model":"' .. model .. '","messages":[{"role":"user","content":"Say hello in five words."}],' ..
           '"max_tokens":16,"temperature":0}'

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
