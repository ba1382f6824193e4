-- wrk script of scripts/loadtest.sh: each request carries the Cookie header
-- of the next of the first $ROTATE lines of the file $COOKIES, round-robin.
local lines = {}
for line in io.lines(os.getenv("COOKIES")) do
	lines[#lines + 1] = line
end
local n = math.min(tonumber(os.getenv("ROTATE")), #lines)
local i = 0

request = function()
	i = i % n + 1
	return wrk.format("GET", nil, { Cookie = lines[i] })
end
