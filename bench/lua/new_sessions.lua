-- POST one message to a new session per request: each wrk thread names its
-- sessions <prefix>t<thread>-<n>; the prefix comes from the first argument
-- after "--", so that runs against one Redis do not collide.
local threads = 0
setup = function(thread)
  thread:set("thread_id", threads)
  threads = threads + 1
end

init = function(args)
  prefix = (args[1] or "wave") .. "t" .. thread_id .. "-"
  counter = 0
end

request = function()
  counter = counter + 1
  local body = '{"messages":[{"role":"Human","content":"hello number ' .. counter .. '"}]}'
  return wrk.format("POST", "/sessions/" .. prefix .. counter .. "/memory",
                    {["Content-Type"] = "application/json"}, body)
end
