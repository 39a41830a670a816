-- GET the memory of one of SESSIONS sessions (<PREFIX>0, <PREFIX>1, ...;
-- the prefix "s" unless the environment says), round-robin.
local sessions = tonumber(os.getenv("SESSIONS") or "100")
local prefix = os.getenv("PREFIX") or "s"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/sessions/" .. prefix .. (counter % sessions) .. "/memory")
end
