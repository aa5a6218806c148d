-- bundle.lua - wrk script: batch Bundles of 100 distinct Observations
-- (calcium, phosphate, PTH, albumin in turn): 25 patients per Bundle,
-- each with the four results of one panel.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/fhir+json"

local counter = 0
setup = function(thread)
  counter = counter + 1
  thread:set("offset", counter * 100000000)
end

init = function(args)
  n = 0
end

local codes = {
  {"17861-6", "mg/dL", 8.5, 30},
  {"2777-1", "mg/dL", 3.0, 60},
  {"2731-8", "pg/mL", 100, 900},
  {"1751-7", "g/dL", 2.8, 15},
}

request = function()
  local parts = {}
  for j = 1, 100 do
    n = n + 1
    local k = offset + n
    local c = codes[(k % 4) + 1]
    local v = c[3] + (k % c[4]) / 10
    if c[1] == "2731-8" then v = c[3] + (k % c[4]) end
    parts[j] = string.format('{"request":{"method":"POST","url":"Observation"},"resource":{"resourceType":"Observation","id":"b-%d","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"%s"}]},"subject":{"reference":"Patient/bp%d"},"effectiveDateTime":"2026-11-20T08:00:00Z","valueQuantity":{"value":%0.1f,"unit":"%s","system":"http://unitsofmeasure.org","code":"%s"}}}', k, c[1], math.floor(k / 4) % 100000, v, c[2], c[2])
  end
  local body = '{"resourceType":"Bundle","type":"batch","entry":[' .. table.concat(parts, ",") .. ']}'
  return wrk.format(nil, wrk.path, nil, body)
end
