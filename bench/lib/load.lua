-- wrk script for the invite-edge benchmarks (bench/run.js writes its arguments).
--
--   wrk ... -s load.lua http://127.0.0.1:P -- <mode> <arg> <auth> <tag>
--
-- mode  fixed   every request is GET <arg> (a path)
--       ids     GET <prefix><id>, <arg> = "<prefix>|<ids file>"; each thread walks
--               its own slice of the file, every id once; when the slice runs
--               out it wraps around and counts the extra requests as "reused"
--       cycle   like ids, but wrapping is expected (refused taps)
--       issue   POST <arg> (a path) with one link whose transactionId is unique
--       batch   POST <arg> = "<path>|<n>" with n links, all transactionIds unique
-- auth  a bearer token, or "-" for none
-- tag   makes transaction ids unique across runs (warm-up vs measured)
--
-- done() prints one line "BENCH_JSON {...}" with the counts and percentiles.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
  .. "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"

local mode, arg, tag
local headers = {}
local ids = {}
local pos = 0
local counter = 0
-- globals, read back by done() through thread:get()
statuses = {}
sent = 0
nids = 0
count_reuse = false

local function split(s, sep)
  local a, b = s:match("^(.-)" .. sep .. "(.*)$")
  return a, b
end

function init(args)
  mode, arg, tag = args[1], args[2], args[4] or "t"
  local auth = args[3]
  headers["User-Agent"] = UA
  if auth and auth ~= "-" then
    headers["Authorization"] = "Bearer " .. auth
  end
  if mode == "ids" or mode == "cycle" then
    local prefix, file = split(arg, "|")
    arg = prefix
    -- wrk's setup() runs before init(); each thread takes every nth line.
    local n, k = tonumber(os.getenv("BENCH_WRK_THREADS") or "1"), tid or 0
    local i = 0
    for line in io.lines(file) do
      if line ~= "" then
        if i % n == k then
          ids[#ids + 1] = line
        end
        i = i + 1
      end
    end
    nids = #ids
    count_reuse = mode == "ids"
    if #ids == 0 then
      ids[1] = "none"
    end
  elseif mode == "issue" or mode == "batch" then
    headers["Content-Type"] = "application/json"
  end
end

local function link(n)
  return '{"survey":"demo","customerId":"bench-' .. tag .. '-' .. (tid or 0) .. '-' .. n
    .. '","transactionId":"bench-' .. tag .. '-' .. (tid or 0) .. '-' .. n
    .. '","trigger":"bench","channel":"in_app","embeddedData":{"venue":"A","event":"E1","seat":"'
    .. (n % 500) .. '"}}'
end

function request()
  if mode == "fixed" then
    return wrk.format("GET", arg, headers)
  elseif mode == "ids" or mode == "cycle" then
    pos = pos + 1
    sent = sent + 1
    if pos > #ids then
      pos = 1
    end
    return wrk.format("GET", arg .. ids[pos], headers)
  elseif mode == "issue" then
    counter = counter + 1
    return wrk.format("POST", arg, headers, link(counter))
  else -- batch
    local path, size = split(arg, "|")
    local items = {}
    for _ = 1, tonumber(size) do
      counter = counter + 1
      items[#items + 1] = link(counter)
    end
    return wrk.format("POST", path, headers, '{"links":[' .. table.concat(items, ",") .. "]}")
  end
end

function response(status, _, _)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, _)
  local merged, reuse = {}, 0
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for code, count in pairs(s) do
      merged[code] = (merged[code] or 0) + count
    end
    if thread:get("count_reuse") then
      reuse = reuse + math.max(0, (thread:get("sent") or 0) - (thread:get("nids") or 0))
    end
  end
  local parts = {}
  for code, count in pairs(merged) do
    parts[#parts + 1] = '"' .. code .. '":' .. count
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},"reused":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout, reuse, table.concat(parts, ",")))
end
