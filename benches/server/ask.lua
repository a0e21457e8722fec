-- wrk script: POST /v1/ask with a rotating set of questions from the sample FAQ.
local questions = {
  "How many days do I have to return a product?",
  "How long is the warranty?",
  "Which payment methods do you accept?",
  "退貨要在幾天內申請？",
  "退款多久會入帳？",
  "Do you ship internationally?",
}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("RAGCORE_BENCH_KEY")
request = function()
  n = n + 1
  local q = questions[(n % #questions) + 1]
  return wrk.format(nil, "/v1/ask", nil, '{"question":"' .. q .. '"}')
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT rps=%.1f p50_ms=%.2f p95_ms=%.2f p99_ms=%.2f errors=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
