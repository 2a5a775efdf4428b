-- wrk script for benches/serve.sh: GET the paths of a file, round robin, and print one
-- line `WRK_JSON {...}` at the end with throughput, latency percentiles and every kind of
-- error, non-2xx responses included.
--
--   wrk -t2 -c8 -d15s -s benches/serve_load.lua http://127.0.0.1:PORT -- PATHS_FILE
--
-- PATHS_FILE: one request path a line (`/v1/search?q=...&mode=hybrid&limit=10`), already
-- URL-encoded. Each thread walks the whole list from its own starting point, so the order
-- is fixed (no randomness) and threads do not send the same query at the same moment.
-- A 2xx response whose body does not start with `{` counts as a bad body (an error too).
-- Times in the JSON are milliseconds; wrk measures each request from send to last byte.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  if not file then
    error("serve_load.lua: pass the paths file after --")
  end
  paths = {}
  for line in io.lines(file) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  if #paths == 0 then
    error("serve_load.lua: no paths in " .. file)
  end
  -- A different start for each thread, spread over the list.
  cursor = ((id - 1) * 397) % #paths + 1
  responses, non2xx, status4xx, status5xx, bad_body = 0, 0, 0, 0, 0
  first_error = ""
end

function request()
  local path = paths[cursor]
  cursor = cursor % #paths + 1
  return wrk.format("GET", path)
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
    if status >= 500 then
      status5xx = status5xx + 1
    elseif status >= 400 then
      status4xx = status4xx + 1
    end
    if first_error == "" then
      first_error = status .. " " .. string.sub(body or "", 1, 300)
    end
  elseif string.sub(body or "", 1, 1) ~= "{" then
    bad_body = bad_body + 1
    if first_error == "" then
      first_error = status .. " (not JSON) " .. string.sub(body or "", 1, 300)
    end
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local t = { responses = 0, non2xx = 0, status4xx = 0, status5xx = 0, bad_body = 0 }
  local first = ""
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do
      t[k] = t[k] + (thread:get(k) or 0)
    end
    if first == "" then
      first = thread:get("first_error") or ""
    end
  end
  local e = summary.errors
  local socket = e.connect + e.read + e.write + e.timeout
  local secs = summary.duration / 1e6
  local ms = function(us) return us / 1000 end
  local fields = {
    string.format('"duration_s":%.3f', secs),
    string.format('"requests":%d', summary.requests),
    string.format('"responses":%d', t.responses),
    string.format('"rps":%.2f', secs > 0 and summary.requests / secs or 0),
    string.format('"bytes":%d', summary.bytes),
    string.format('"p50_ms":%.3f', ms(latency:percentile(50))),
    string.format('"p90_ms":%.3f', ms(latency:percentile(90))),
    string.format('"p99_ms":%.3f', ms(latency:percentile(99))),
    string.format('"p999_ms":%.3f', ms(latency:percentile(99.9))),
    string.format('"min_ms":%.3f', ms(latency.min)),
    string.format('"max_ms":%.3f', ms(latency.max)),
    string.format('"mean_ms":%.3f', ms(latency.mean)),
    string.format('"stdev_ms":%.3f', ms(latency.stdev)),
    string.format('"connect_errors":%d', e.connect),
    string.format('"read_errors":%d', e.read),
    string.format('"write_errors":%d', e.write),
    string.format('"timeouts":%d', e.timeout),
    string.format('"socket_errors":%d', socket),
    string.format('"non2xx":%d', t.non2xx),
    string.format('"status4xx":%d', t.status4xx),
    string.format('"status5xx":%d', t.status5xx),
    string.format('"bad_body":%d', t.bad_body),
    string.format('"errors":%d', socket + t.non2xx + t.bad_body),
    '"first_error":' .. json_string(first),
  }
  io.write("WRK_JSON {" .. table.concat(fields, ",") .. "}\n")
end
