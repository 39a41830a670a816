-- GET the memory of one of SESSIONS sessions (s0, s1, ...), round-robin.
local sessions = tonumber(os.getenv("SESSIONS") or "100")
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/sessions/s" .. (counter % sessions) .. "/memory")
end
