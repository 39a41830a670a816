-- GET the memory of one session, named by the SESSION variable of wrk's
-- environment (see bench/scale_out.sh).
local session = os.getenv("SESSION") or "bench"
request = function()
  return wrk.format("GET", "/sessions/" .. session .. "/memory")
end
