-- wrk script: POST /v1/sessions/refresh, every request with a refresh token
-- that has never been presented before.
--
-- Usage: wrk ... -s bench/refresh.lua URL -- TOKENS_FILE THREADS [retry-503]
-- TOKENS_FILE holds one refresh token per line (bench/run.sh logs in that
-- many sessions first); thread i takes lines i, i+THREADS, ... A 200 answer
-- carries the rotated token, which goes back into the thread's queue: each
-- request is exactly what an app does when its access token expires (one
-- lookup of the token's keyed hash, a durable rotation, a new access token).
-- If a thread runs out of tokens (a refresh failed), it sends an invalid one,
-- which shows up as a non-2xx answer in the table rather than being hidden.
-- With "retry-503" (only valid with one connection per thread, -tN -cN: then
-- a thread's requests and answers strictly alternate, so it knows which
-- token an answer is for), a 503 (store busy: nothing was rotated) puts the
-- token back at the head of the queue, as an app retries with the same
-- token; the 503 still counts as a non-2xx answer. bench/store.sh uses it.

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  retry_503 = args[3] == "retry-503"
  queue, head, tail = {}, 1, 0
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == id and #line > 0 then
      tail = tail + 1
      queue[tail] = line
    end
    i = i + 1
  end
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  local token = "sh_rt_exhausted"
  if head <= tail then
    token = queue[head]
    queue[head] = nil
    head = head + 1
  end
  inflight = token
  return wrk.format("POST", "/v1/sessions/refresh", headers,
                    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  if status == 503 and retry_503 and inflight ~= "sh_rt_exhausted" then
    head = head - 1
    queue[head] = inflight
  elseif status == 200 then
    local token = body:match('"refresh_token":"(sh_rt_[^"]+)"')
    if token then
      tail = tail + 1
      queue[tail] = token
    end
  end
end
