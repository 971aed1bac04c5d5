-- GET /v1/models/{model}/resolve?key=K with a new request key each time (sticky bucketing is
-- a hash of the key, so a fixed key would only ever hit one bucket).
local common = dofile(os.getenv("MREG_BENCH_LUA") .. "/common.lua")
local prefix = "/v1/models/" .. common.model .. "/resolve?key=user-"
local headers = common.headers()
local n = 0
setup = common.setup
function request()
   n = n + 1
   return wrk.format("GET", prefix .. thread_id .. "-" .. n, headers)
end
done = common.done
