-- A fixed GET (branch, history): wrk builds the request once, the fastest path it has.
-- The URL given to wrk carries the path and query.
local common = dofile(os.getenv("MREG_BENCH_LUA") .. "/common.lua")
wrk.method = "GET"
wrk.headers = common.headers()
setup = common.setup
done = common.done
