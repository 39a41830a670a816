-- POST one message to one of 1000 sessions, round-robin.
counter = 0
request = function()
  counter = counter + 1
  local body = '{"messages":[{"role":"Human","content":"message ' .. counter .. ' about salsa clubs in Cali"}]}'
  return wrk.format("POST", "/sessions/s" .. (counter % 1000) .. "/memory", {["Content-Type"]="application/json"}, body)
end
