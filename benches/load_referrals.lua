-- wrk script: GET each referral page of the officer's caseload in turn (one path a line in
-- the file PATHS_FILE names), so the run is not one row served from cache.
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do
  paths[#paths + 1] = line
end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end
