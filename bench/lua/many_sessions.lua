-- Many sessions named m<round>-<n>, for wrk -t2. "post <round>" after "--":
-- each request POSTs one message to the next new session of the round,
-- thread t writing n = t, t + 2, t + 4, ... "get <limits>", the limits
-- comma-separated by round: each request GETs a session at random among
-- those 2 <= n < limit of their round (rounds weighted by their limits; wrk
-- makes one request of a run that it never sends, so n = 0 or 1 may be
-- missing), and the run ends by printing how many answers held no message.
local threads = {}
setup = function(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

init = function(args)
  mode, round, counter, empty = args[1], args[2], 0, 0
  limits, total = {}, 0
  if mode == "get" then
    for limit in args[2]:gmatch("%d+") do
      local size = math.max(0, tonumber(limit) - 2)
      table.insert(limits, size)
      total = total + size
    end
  end
  math.randomseed(os.time() * 100 + thread_id)
end

request = function()
  if mode == "post" then
    local n = counter * 2 + thread_id
    counter = counter + 1
    return wrk.format("POST", "/sessions/m" .. round .. "-" .. n .. "/memory",
                      {["Content-Type"] = "application/json"},
                      '{"messages":[{"role":"Human","content":"session ' .. n .. '"}]}')
  end
  local pick = math.random(0, total - 1)
  for r, limit in ipairs(limits) do
    if pick < limit then
      return wrk.format("GET", "/sessions/m" .. (r - 1) .. "-" .. (pick + 2) .. "/memory")
    end
    pick = pick - limit
  end
end

response = function(status, headers, body)
  if mode == "get" and body:find('"messages":[]', 1, true) then
    empty = empty + 1
  end
end

done = function()
  local sum = 0
  for _, thread in ipairs(threads) do sum = sum + thread:get("empty") end
  print("empty answers: " .. sum)
end
