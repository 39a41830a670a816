-- A chat workload: each simulated user reads its memory, then posts the
-- next turn, the user's message and the model's answer. Users are picked at
-- random among CHAT_USERS sessions (chat0, chat1, ...; 10000 unless the
-- environment says). A wrk thread alternates GET and POST, each POST going
-- to the user of the GET before it, so windows fill up and fold.
local users = tonumber(os.getenv("CHAT_USERS") or "10000")
local threads = 0
setup = function(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

init = function()
  math.randomseed(os.time() * 100 + thread_id)
  user, turn, reading = 0, 0, false
end

request = function()
  reading = not reading
  if reading then
    user = math.random(0, users - 1)
    return wrk.format("GET", "/sessions/chat" .. user .. "/memory")
  end
  turn = turn + 1
  local body = '{"messages":[' ..
    '{"role":"Human","content":"turn ' .. turn .. ': where can I dance salsa tonight in Cali?"},' ..
    '{"role":"AI","content":"Try the clubs on Avenida Sexta; most of them open at nine."}]}'
  return wrk.format("POST", "/sessions/chat" .. user .. "/memory",
                    {["Content-Type"] = "application/json"}, body)
end
