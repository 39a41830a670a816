-- POST one message to one of SESSIONS sessions (s0, s1, ...; 1000 unless
-- the environment says), round-robin.
local sessions = tonumber(os.getenv("SESSIONS") or "1000")
counter = 0
request = function()
  counter = counter + 1
  local body = '{"messages":[{"role":"Human","content":"message ' .. counter .. ' about salsa clubs in Cali"}]}'
  return wrk.format("POST", "/sessions/s" .. (counter % sessions) .. "/memory",
                    {["Content-Type"] = "application/json"}, body)
end
