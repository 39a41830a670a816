-- POST a turn of two messages (a question and its answer) to one of
-- SESSIONS sessions (s0, s1, ...; 1000 unless the environment says),
-- round-robin.
local sessions = tonumber(os.getenv("SESSIONS") or "1000")
counter = 0
request = function()
  counter = counter + 1
  local body = '{"messages":[{"role":"Human","content":"turn ' .. counter
    .. ': where can I dance salsa tonight in Cali?"},{"role":"AI","content":"Try the clubs on Avenida Sexta; most of them open at nine."}]}'
  return wrk.format("POST", "/sessions/s" .. (counter % sessions) .. "/memory",
                    {["Content-Type"] = "application/json"}, body)
end
