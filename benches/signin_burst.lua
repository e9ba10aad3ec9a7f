-- wrk script: a burst of failed sign-ins (each costs one argon2id verification).
local token = "burstburstburstburstburstburst00"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "mhtr-presession=" .. token
wrk.body = "csrf_token=" .. token .. "&email=sam.okafor%40admin.demo.example&password=not+the+right+password+at+all"
