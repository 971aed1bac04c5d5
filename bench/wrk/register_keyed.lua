-- POST /v1/models/{model}/versions with an Idempotency-Key, as `mreg register --server` sends
-- it: every request registers a new version under a key of its own (claimed, then completed
-- with the answer, besides the registration itself).
local common = dofile(os.getenv("MREG_BENCH_LUA") .. "/common.lua")
local path = "/v1/models/" .. common.model .. "/versions"
local n = 0
setup = common.setup
function request()
   n = n + 1
   local key = string.format("bench-%d-%d-%d", os.time(), thread_id, n)
   local headers = common.headers({ ["Content-Type"] = "application/json", ["Idempotency-Key"] = key })
   return wrk.format("POST", path, headers, common.registration(n))
end
done = common.done
