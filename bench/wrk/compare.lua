-- The compiled client of `make bench-compare` (bench/compare.py): one request shape, given by the
-- environment, sent to whichever server the URL names (mreg or MLflow), so both get the very
-- same client.
--
--   BENCH_METHOD     GET or POST
--   BENCH_PATH       path and query, may hold {n} and {v}
--   BENCH_BODY       JSON body (POST), may hold {n} and {v}; empty for none
--   BENCH_AUTH       bearer token, empty for none
--   BENCH_CLOSE      "1": send `Connection: close`, so every request opens a new connection
--   BENCH_TAG        unique to the cell, so {n} never repeats across cells
--   BENCH_POOL       {v} cycles through 1 … BENCH_POOL
--   BENCH_THREADS    wrk -t
--
-- {n} is "<tag>-<thread>-<count>": unique across threads and cells. {v} is 1 + (count × threads +
-- thread) mod pool: a thread's in-flight requests name different versions, and two threads never
-- name the same one (their values differ in residue mod threads, and the pool is a multiple of it).
local common = dofile(os.getenv("MREG_BENCH_LUA") .. "/common.lua")

local method = os.getenv("BENCH_METHOD") or "GET"
local path_template = os.getenv("BENCH_PATH") or "/"
local body_template = os.getenv("BENCH_BODY") or ""
local auth = os.getenv("BENCH_AUTH") or ""
local tag = os.getenv("BENCH_TAG") or "0"
local pool = tonumber(os.getenv("BENCH_POOL") or "100")
local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")

local headers = {}
if auth ~= "" then headers["Authorization"] = "Bearer " .. auth end
if body_template ~= "" then headers["Content-Type"] = "application/json" end
if os.getenv("BENCH_CLOSE") == "1" then headers["Connection"] = "close" end

local dynamic = path_template:find("{[nv]}") or body_template:find("{[nv]}")
local count = 0

setup = common.setup

local function fill(template, n, v)
   return (template:gsub("{n}", n):gsub("{v}", v))
end

function request()
   if not dynamic then
      return wrk.format(method, path_template, headers, body_template ~= "" and body_template or nil)
   end
   count = count + 1
   local n = tag .. "-" .. thread_id .. "-" .. count
   local v = tostring(1 + (count * nthreads + thread_id) % pool)
   local body = body_template ~= "" and fill(body_template, n, v) or nil
   return wrk.format(method, fill(path_template, n, v), headers, body)
end

done = common.done
