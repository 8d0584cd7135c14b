-- Counters.settle in Redis (RedisCounters runs it; LocalCounters.settle does the same in process): adds each token
-- correction to the window or day the take went to, if that count still exists (an expired one no longer counts),
-- never below 0; frees the request's concurrency slots.
--
-- KEYS, one per take: the count of the window or day of the acquire, or the concurrency bucket's sorted set
-- ARGV: request id, then two per take: kind (1 sliding, 2 daily, 3 concurrency), correction
local id = ARGV[1]
for t = 1, #KEYS do
  local key = KEYS[t]
  local kind = tonumber(ARGV[2 * t])
  local correction = ARGV[2 * t + 1]
  if kind == 3 then
    redis.call('ZREM', key, id)
  elseif tonumber(correction) ~= 0 and redis.call('EXISTS', key) == 1 then
    if redis.call('INCRBY', key, correction) < 0 then
      redis.call('SET', key, 0, 'KEEPTTL')
    end
  end
end
return 1
