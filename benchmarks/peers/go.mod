module github.com/braidstream/braid/benchmarks/peers

go 1.26.4

require github.com/reugn/go-streams v0.13.0
