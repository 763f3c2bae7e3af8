-- wrk script: POST /v1/devices/claim, every request with a claim code that
-- has never been presented before (a freshly provisioned, unclaimed device).
--
-- Usage: wrk ... -s bench/claim.lua URL -- CODES_FILE THREADS ACCESS_TOKEN
-- CODES_FILE holds one claim code per line (bench/store.sh provisions them
-- through the admin API first); thread i takes lines i, i+THREADS, ... and
-- uses each once. Each request is what the app does when a user adds a
-- device: one lookup of the code's keyed hash, a durable write that makes the
-- user its owner. If a thread runs out of codes it sends an invalid one,
-- which shows up as a non-2xx answer in the table rather than being hidden
-- (and, being a failed claim, soon costs the account 429s).

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local path, nthreads = args[1], tonumber(args[2])
  codes, head, tail = {}, 1, 0
  local i = 0
  for line in io.lines(path) do
    if i % nthreads == id and #line > 0 then
      tail = tail + 1
      codes[tail] = line
    end
    i = i + 1
  end
  headers = { ["Content-Type"] = "application/json",
              ["Authorization"] = "Bearer " .. args[3] }
end

function request()
  local code = "EXHAUSTED"
  if head <= tail then
    code = codes[head]
    codes[head] = nil
    head = head + 1
  end
  return wrk.format("POST", "/v1/devices/claim", headers,
                    '{"claim_code":"' .. code .. '","name":"Bench claim"}')
end
