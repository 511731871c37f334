package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// genStart is the time of the generated log's first request, and genZone
// the zone its lines are written in (as a server in Paris writes them).
var (
	genStart = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	genZone  = time.FixedZone("CET", 3600)
)

// genGap is the mean time between two generated requests: 50 a second.
const genGap = 20 * time.Millisecond

// A vhost is a generated virtual host: its name, its share of the
// requests (out of 100), and its paths, the most popular first.
type vhost struct {
	name  string
	share int
	paths []string
}

// genHosts are the generated hosts. Each host's paths are requested with
// a Zipf popularity: the first few take most requests, the long tail few.
var genHosts = func() []vhost {
	www := []string{"/", "/pricing", "/about", "/contact", "/login", "/signup", "/blog/"}
	for i := range 60 {
		www = append(www, fmt.Sprintf("/blog/%d-%s", 2026-i/12, [...]string{"streams", "windows", "logs", "latency", "joins", "state"}[i%6]))
	}
	www = append(www, "/robots.txt", "/favicon.ico", "/wp-login.php", "/.env")
	api := []string{"/v1/items", "/v1/search", "/v1/auth/token", "/v1/cart", "/v1/orders"}
	for i := range 80 {
		api = append(api, "/v1/items/"+strconv.Itoa(1000+7*i))
	}
	static := []string{"/css/app.css", "/js/app.js", "/js/vendor.js", "/fonts/inter.woff2"}
	for i := range 40 {
		static = append(static, fmt.Sprintf("/img/%02d.webp", i))
	}
	shop := []string{"/", "/cart", "/checkout", "/account", "/search"}
	for i := range 50 {
		shop = append(shop, "/product/"+strconv.Itoa(500+i))
	}
	return []vhost{
		{"www.example.com", 35, www},
		{"api.example.com", 30, api},
		{"static.example.com", 25, static},
		{"shop.example.com", 10, shop},
	}
}()

var (
	browsers = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		`Mozilla/5.0 (compatible; \"Probe\"/1.0)`, // Apache escapes a quote as \"
	}
	apiClients = []string{"okhttp/4.12.0", "python-requests/2.32.3", "curl/8.5.0", "Go-http-client/2.0"}
	referers   = []string{"https://www.google.com/", "https://duckduckgo.com/", "https://news.ycombinator.com/"}
)

// genClients is how many client addresses the generator draws from.
const genClients = 4000

// clientAddr is generated client k's address: IPv4 mostly, one in ten
// IPv6.
func clientAddr(k uint64) string {
	h := k*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	h ^= h >> 29
	if k%10 == 9 {
		return fmt.Sprintf("2001:db8:%x::%x", (h>>8)&0xffff, h&0xffff)
	}
	return fmt.Sprintf("%d.%d.%d.%d", 1+(h>>24)&0xdf, (h>>16)&0xff, (h>>8)&0xff, 1+h&0xfd)
}

// A burst is a stretch of 5xx responses on one host.
type burst struct {
	host       int
	start, end time.Time
	rate       float64 // the share of the host's requests answered 5xx
}

// burstIn is the burst of the generated log's 10-minute stretch b, if it
// has one (four stretches in five do): on a host, for 2 to 4 minutes,
// 20% to 60% of its requests.
func burstIn(seed uint64, b int64) (burst, bool) {
	rng := rand.New(rand.NewPCG(seed^0xb5, uint64(b)))
	if rng.IntN(5) == 0 {
		return burst{}, false
	}
	start := genStart.Add(time.Duration(b)*10*time.Minute + time.Duration(1+rng.IntN(5))*time.Minute)
	return burst{host: rng.IntN(len(genHosts)), start: start, end: start.Add(time.Duration(2+rng.IntN(3)) * time.Minute),
		rate: 0.2 + 0.4*rng.Float64()}, true
}

// baseErrors is the share of 5xx responses outside bursts.
const baseErrors = 0.005

// generate returns line i (from 0) of the generated log, a function of
// seed and i only, so that a job resumed from a checkpoint generates the
// same lines from where it was. About one line in 1500 is garbled (cut
// short, a bad date, not a log line), one in 2000 is logged 3 to 30 s
// after its time (a slow request), a few are a connection that sent no
// request ("-", 408).
func generate(seed uint64) func(i int64) string {
	return func(i int64) string {
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		t := genStart.Add(time.Duration(i)*genGap - time.Duration(rng.IntN(1500))*time.Millisecond)
		if rng.IntN(2000) == 0 {
			t = t.Add(-time.Duration(3000+rng.IntN(27000)) * time.Millisecond)
		}
		if t.Before(genStart) {
			t = genStart
		}
		h := 0
		for r := rng.IntN(100); r >= genHosts[h].share; h++ {
			r -= genHosts[h].share
		}
		host := genHosts[h]
		client := clientAddr(rand.NewZipf(rng, 1.15, 3, genClients-1).Uint64())
		path := host.paths[rand.NewZipf(rng, 1.3, 1, uint64(len(host.paths)-1)).Uint64()]
		method, proto := "GET", "HTTP/2.0"
		if rng.IntN(4) == 0 {
			proto = "HTTP/1.1"
		}
		agent, referer, user := browsers[rng.IntN(len(browsers))], "-", "-"
		switch host.name {
		case "api.example.com":
			agent = apiClients[rng.IntN(len(apiClients))]
			switch r := rng.IntN(10); {
			case r < 2:
				method = "POST"
			case r == 2:
				method = []string{"PUT", "DELETE", "PATCH"}[rng.IntN(3)]
			}
		case "static.example.com":
			referer = "https://www.example.com/"
		default:
			if r := rng.IntN(10); r < 4 {
				referer = referers[rng.IntN(len(referers))]
			} else if r < 7 {
				referer = "https://" + host.name + host.paths[rng.IntN(len(host.paths))]
			}
			if host.name == "shop.example.com" && rng.IntN(3) == 0 {
				user = [...]string{"alice", "bob", "carol"}[rng.IntN(3)]
			}
		}
		if rng.IntN(100) == 0 {
			method = "HEAD"
		}
		status, size := 200, strconv.Itoa(200+rng.IntN(60000))
		errRate := baseErrors
		if b, ok := burstIn(seed, int64(t.Sub(genStart)/(10*time.Minute))); ok && b.host == h && !t.Before(b.start) && t.Before(b.end) {
			errRate = b.rate
		}
		switch r := rng.Float64(); {
		case r < errRate:
			status, size = []int{500, 502, 503, 504}[rng.IntN(4)], strconv.Itoa(150+rng.IntN(400))
		case r < errRate+0.02:
			status, size = 404, "162"
		case r < errRate+0.03:
			status, size = 301, "0"
		case host.name == "static.example.com" && r < 0.3, host.name == "www.example.com" && r < 0.1:
			status, size = 304, "-"
		case host.name == "api.example.com" && r < errRate+0.04:
			status = []int{401, 403, 429}[rng.IntN(3)]
		}
		request := method + " " + path + " " + proto
		if rng.IntN(3000) == 0 {
			request, status, size, referer, agent = "-", 408, "0", "-", "-"
		}
		line := fmt.Sprintf(`%s:443 %s - %s [%s] "%s" %d %s "%s" "%s"`, host.name, client, user,
			t.In(genZone).Format(clfTime), request, status, size, referer, agent)
		if rng.IntN(1500) == 0 {
			switch rng.IntN(3) {
			case 0: // cut short, as by a full disk
				line = line[:20+rng.IntN(len(line)-40)]
			case 1:
				line = strings.Replace(line, "/Nov/", "/Nom/", 1)
			default:
				line = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 stray bytes"
			}
		}
		return line
	}
}

// clfTime is the layout of %t.
const clfTime = "02/Jan/2006:15:04:05 -0700"
