-- Shared by every wrk script of `make bench` (loaded with dofile; see bench/httpbench.py).
-- MREG_TOKEN (environment) is the bearer token; done() prints one line "WRK_JSON {...}" that
-- the harness parses: the summary, the error counts (status = answers with a status >= 400)
-- and the latency percentiles in microseconds.
local common = {}

common.token = os.getenv("MREG_TOKEN") or ""
common.model = os.getenv("MREG_BENCH_MODEL") or "bench"

function common.headers(extra)
   local h = { ["Authorization"] = "Bearer " .. common.token }
   if extra then for k, v in pairs(extra) do h[k] = v end end
   return h
end

-- The body of the n-th registration by this thread, unique across threads.
function common.registration(n)
   return string.format(
      '{"artifact_uri":"s3://bench/%s/%d-%d","params":{"lr":"0.01"},"metrics":{"accuracy":0.93},"tags":{"team":"bench"}}',
      common.model, thread_id, n)
end

-- Threads get ids 0, 1, ... from setup(), so per-request values never collide across threads.
local threads = {}
function common.setup(thread)
   thread:set("thread_id", #threads)
   table.insert(threads, thread)
end

function common.done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,' ..
      '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
      '"latency_us":{"min":%.0f,"mean":%.1f,"stdev":%.1f,"max":%.0f,' ..
      '"p50":%.0f,"p75":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f}}\n',
      summary.duration, summary.requests, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.stdev, latency.max,
      latency:percentile(50), latency:percentile(75), latency:percentile(90),
      latency:percentile(99), latency:percentile(99.9)))
end

return common
