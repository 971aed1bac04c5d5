-- POST /v1/models/{model}/versions: every request registers a new version (develop moves to it).
local common = dofile(os.getenv("MREG_BENCH_LUA") .. "/common.lua")
local path = "/v1/models/" .. common.model .. "/versions"
local headers = common.headers({ ["Content-Type"] = "application/json" })
local n = 0
setup = common.setup
function request()
   n = n + 1
   return wrk.format("POST", path, headers, common.registration(n))
end
done = common.done
