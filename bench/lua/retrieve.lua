-- POST a retrieval query, rotating queries, to TARGET ("/namespaces/NS/
-- retrieval", say) or else to the session named by SESSION.
local session = os.getenv("SESSION") or "bench"
local target = os.getenv("TARGET") or ("/sessions/" .. session .. "/retrieval")
local queries = {"topic7 message", "about topic42", "message 12 topic3",
                 "salsa music", "topic99 about"}
local n = 0
request = function()
  n = n + 1
  local body = '{"text":"' .. queries[n % #queries + 1] .. '","top_k":10}'
  return wrk.format("POST", target, {["Content-Type"] = "application/json"},
                    body)
end
