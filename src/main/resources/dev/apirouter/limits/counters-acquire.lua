-- Counters.acquire in Redis, atomically: checks every take, then adds them all or none (RedisCounters runs it).
-- The formulas are a port of CounterMath.java, function for function and in the same order: change one, change the
-- other. Integer arithmetic in doubles (Lua 5.1): exact while limit * window < 2^53.
--
-- KEYS, two per take: sliding window: the current window's count, then the previous window's;
--   daily: the day's count (twice); concurrency: the sorted set of slots (request ids scored by lease expiry) (twice)
-- ARGV: now (the caller's epoch millis), request id, lease millis, then five per take:
--   kind (1 sliding, 2 daily, 3 concurrency), limit, window millis, amount, elapsed (millis since the window began)
-- Returns { index of the first refused take (from 0) or -1, then per take: remaining, resetMillis }
local now = tonumber(ARGV[1])
local id = ARGV[2]
local lease = tonumber(ARGV[3])
local n = (#ARGV - 3) / 5

local function floordiv(x, y) return math.floor(x / y) end
local function ceildiv(x, y) return -math.floor(-x / y) end

-- CounterMath.slidingFits
local function sliding_fits(limit, w, elapsed, prev, cur, amount)
  return prev * (w - elapsed) + (cur + amount) * w <= limit * w
end
-- CounterMath.sliding: remaining, then reset
local function sliding(limit, w, elapsed, prev, cur)
  local remaining = math.max(0, floordiv(limit * w - prev * (w - elapsed) - cur * w, w))
  local reset = 0
  if cur > 0 then reset = 2 * w - elapsed elseif prev > 0 then reset = w - elapsed end
  return remaining, reset
end
-- CounterMath.slidingRetry
local function sliding_retry(limit, w, elapsed, prev, cur, amount)
  if amount > limit then return -1 end
  local at
  if cur <= limit - amount then
    if prev <= 0 then at = elapsed else at = ceildiv(w * (prev + cur + amount - limit), prev) end
  else
    at = w + ceildiv(w * (cur + amount - limit), cur)
  end
  return math.max(1, at - elapsed)
end
-- CounterMath.dailyRetry
local function daily_retry(limit, w, elapsed, amount)
  if amount > limit then return -1 end
  return w - elapsed
end

local kind, limit, w, amount, elapsed, prev, cur, fits = {}, {}, {}, {}, {}, {}, {}, {}
local refused = -1
for t = 1, n do
  local a = 3 + (t - 1) * 5
  kind[t] = tonumber(ARGV[a + 1])
  limit[t] = tonumber(ARGV[a + 2])
  w[t] = tonumber(ARGV[a + 3])
  amount[t] = tonumber(ARGV[a + 4])
  elapsed[t] = tonumber(ARGV[a + 5])
  local key = KEYS[2 * t - 1]
  prev[t] = 0
  if kind[t] == 1 then
    cur[t] = tonumber(redis.call('GET', key) or 0)
    prev[t] = tonumber(redis.call('GET', KEYS[2 * t]) or 0)
    fits[t] = sliding_fits(limit[t], w[t], elapsed[t], prev[t], cur[t], amount[t])
  elseif kind[t] == 2 then
    cur[t] = tonumber(redis.call('GET', key) or 0)
    fits[t] = cur[t] + amount[t] <= limit[t] -- CounterMath.dailyFits
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now) -- expired leases
    cur[t] = redis.call('ZCARD', key)
    fits[t] = cur[t] + 1 <= limit[t] -- CounterMath.concurrencyFits
  end
  if not fits[t] and refused < 0 then refused = t - 1 end
end

local out = { refused }
for t = 1, n do
  local key = KEYS[2 * t - 1]
  if refused < 0 then
    if kind[t] == 3 then
      cur[t] = cur[t] + redis.call('ZADD', key, now + lease, id)
      redis.call('PEXPIRE', key, lease)
    elseif amount[t] ~= 0 then
      -- a window's count is needed until the end of the next window (a day's likewise): it expires after two
      cur[t] = redis.call('INCRBY', key, ARGV[3 + (t - 1) * 5 + 4])
      redis.call('PEXPIRE', key, 2 * w[t])
    end
  end
  local remaining, reset
  if kind[t] == 1 then
    remaining, reset = sliding(limit[t], w[t], elapsed[t], prev[t], cur[t])
    if not fits[t] then reset = sliding_retry(limit[t], w[t], elapsed[t], prev[t], cur[t], amount[t]) end
  elseif kind[t] == 2 then
    remaining, reset = math.max(0, limit[t] - cur[t]), w[t] - elapsed[t] -- CounterMath.daily
    if not fits[t] then reset = daily_retry(limit[t], w[t], elapsed[t], amount[t]) end
  else
    remaining, reset = math.max(0, limit[t] - cur[t]), 0 -- CounterMath.concurrency
  end
  out[#out + 1] = remaining
  out[#out + 1] = reset
end
return out
