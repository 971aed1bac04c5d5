-- The promote/rollback pair on `release`, from 32 connections at once.
--
-- A literal "promote v2, roll back to v1" loop cannot run on many connections: two promotes
-- of the same version race and the second gets 409 (the branch already holds it). So each
-- request names its own target from a pool of MREG_BENCH_POOL versions that were all
-- registered (so all have been on develop) and all promoted to release once during setup
-- (so a rollback may return to any of them):
--   request n of thread t, g = n * threads + t, target = 1 + g mod POOL
--   n odd:  POST promote  {"to":"release","version":target}
--   n even: POST rollback {"branch":"release","to":target,"reason":"bench"}
-- Targets in flight are distinct as long as POOL is much larger than the connection count,
-- so no request ever asks for the version the branch already holds: every answer is 200.
local common = dofile(os.getenv("MREG_BENCH_LUA") .. "/common.lua")
local pool = tonumber(os.getenv("MREG_BENCH_POOL") or "500")
local threads = tonumber(os.getenv("MREG_BENCH_THREADS") or "2")
local base = "/v1/models/" .. common.model
local headers = common.headers({ ["Content-Type"] = "application/json" })
local n = 0
setup = common.setup
function request()
   n = n + 1
   local target = 1 + ((n * threads + thread_id) % pool)
   if n % 2 == 1 then
      return wrk.format("POST", base .. "/promote", headers,
         string.format('{"to":"release","version":%d}', target))
   else
      return wrk.format("POST", base .. "/rollback", headers,
         string.format('{"branch":"release","to":%d,"reason":"bench"}', target))
   end
end
done = common.done
