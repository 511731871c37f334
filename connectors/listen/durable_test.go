package listen_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/braidstream/braid/connectors/filesink"
	"github.com/braidstream/braid/connectors/listen"
	"github.com/braidstream/braid/connectors/logs"
	"github.com/braidstream/braid/internal/testseed"
	"github.com/braidstream/braid/stream"
)

// cloneableMem is a crashable MemFS whose clones wait for a Link in
// progress: MemFS.Link (pebble v2.1.7) read-locks the clone lock twice,
// and deadlocks when CrashClone asks for it in between, as it may while
// a checkpoint links its files.
type cloneableMem struct {
	*vfs.MemFS
	mu sync.RWMutex
}

func (m *cloneableMem) Link(oldname, newname string) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.MemFS.Link(oldname, newname)
}

func (m *cloneableMem) clone(cfg vfs.CrashCloneCfg) *vfs.MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.MemFS.CrashClone(cfg)
}

// A durableJob is a running checkpointed job of one Durable listener
// whose lines (and dead letters) go to exactly-once file sinks in /out
// (and /dead) of fs.
type durableJob struct {
	t      *testing.T
	fs     vfs.FS
	cancel context.CancelFunc
	done   chan error
	addr   net.Addr
	stats  *listen.Stats
}

// startDurable runs build's source, with Durable and the options given,
// into a checkpointed job on fs, and waits until it listens. The sinks
// write "NUMBER|TEXT" per line, "NUMBER|TEXT|too long|cut|bad frame|ERROR"
// per dead letter; format may add the peer.
func startDurable(t *testing.T, fs vfs.FS, build func(env *stream.Env, opts ...listen.Option) *stream.Stream[logs.Line],
	format func(logs.Line) string, opts ...listen.Option) *durableJob {
	t.Helper()
	j := &durableJob{t: t, fs: fs, done: make(chan error, 1), stats: new(listen.Stats)}
	bound := make(chan net.Addr, 2)
	quiet := slog.New(slog.DiscardHandler)
	env := stream.NewEnv(stream.WithLogger(quiet), stream.WithParallelism(1),
		stream.WithCheckpointing("/ck", 10*time.Millisecond, stream.CheckpointFS(fs)))
	src := build(env, append(opts, listen.Durable(), listen.WithStats(j.stats), listen.Logger(quiet),
		listen.Bound(func(a net.Addr) { bound <- a }))...)
	filesink.Lines(src, "/out", format)
	filesink.Lines(stream.DeadLetters(src), "/dead", func(d stream.DeadLetter[logs.Line]) string {
		return fmt.Sprintf("%d|%s|%v|%v|%v|%v", d.Value.Number, d.Value.Text, errors.Is(d.Err, stream.ErrLineTooLong),
			errors.Is(d.Err, stream.ErrLineCut), errors.Is(d.Err, listen.ErrBadFrame), d.Err)
	})
	ctx, cancel := context.WithCancel(context.Background())
	j.cancel = cancel
	go func() { j.done <- env.Execute(ctx) }()
	select {
	case j.addr = <-bound:
	case err := <-j.done:
		cancel()
		t.Fatalf("Execute = %v before listening", err)
	case <-time.After(guard):
		cancel()
		t.Fatal("the source did not listen")
	}
	t.Cleanup(j.stop)
	return j
}

func numbered(l logs.Line) string { return strconv.FormatInt(l.Number, 10) + "|" + l.Text }

func (j *durableJob) stop() {
	if j.cancel == nil {
		return
	}
	j.cancel()
	j.cancel = nil
	select {
	case err := <-j.done:
		if !errors.Is(err, context.Canceled) {
			j.t.Errorf("Execute = %v, want context.Canceled", err)
		}
	case <-time.After(guard):
		j.t.Fatal("Execute did not return after cancel")
	}
}

// waitFor polls until cond holds, failing the test after guard or when
// the job ends.
func (j *durableJob) waitFor(what string, cond func() bool) {
	j.t.Helper()
	deadline := time.Now().Add(guard)
	for !cond() {
		select {
		case err := <-j.done:
			j.cancel = nil
			j.t.Fatalf("Execute = %v while waiting for %s (%v)", err, what, j.stats)
		default:
		}
		if time.Now().After(deadline) {
			j.t.Fatalf("%s never came (%v)", what, j.stats)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// published returns the lines of the part files a file sink published in
// dir of fs, in their order.
func published(t *testing.T, fs vfs.FS, dir string) []string {
	t.Helper()
	names, err := fs.List(dir)
	if err != nil {
		return nil // nothing published yet
	}
	slices.Sort(names)
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(n, "part-") {
			continue
		}
		f, err := fs.Open(fs.PathJoin(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s := strings.TrimSuffix(string(b), "\n"); s != "" {
			out = append(out, strings.Split(s, "\n")...)
		}
	}
	return out
}

// The log of a Durable source does not grow without end: as checkpoints
// complete, the segments wholly before the last two of them are deleted.
// A client sends 3,000 lines (about 30 segments' worth) in bursts while
// checkpoints complete every 10 ms; every line is published once, and a
// few segments are left at the end.
func TestDurableDeletesOldSegments(t *testing.T) {
	listen.SetSegmentBytes(t, 4<<10)
	fs := vfs.NewMem()
	j := startDurable(t, fs, func(env *stream.Env, opts ...listen.Option) *stream.Stream[logs.Line] {
		return listen.TCPLines(env, "127.0.0.1:0", opts...)
	}, numbered)
	conn, err := net.Dial("tcp", j.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	var want []string
	for i := range n {
		line := fmt.Sprintf("line %04d %s", i, strings.Repeat("x", 20))
		want = append(want, fmt.Sprintf("%d|%s", i+1, line))
		if _, err := fmt.Fprintln(conn, line); err != nil {
			t.Fatal(err)
		}
		if i%100 == 99 {
			time.Sleep(5 * time.Millisecond) // a burst per batch, checkpoints between
		}
	}
	conn.Close()
	j.waitFor("every line published", func() bool { return len(published(t, fs, "/out")) >= n })
	segments := func() (n int, dirs []string) {
		var walk func(dir string)
		walk = func(dir string) {
			names, _ := fs.List(dir)
			for _, name := range names {
				p := fs.PathJoin(dir, name)
				if st, err := fs.Stat(p); err == nil && st.IsDir() {
					walk(p)
				} else if strings.HasSuffix(name, ".log") && len(name) == len("0000000000000001.log") {
					n++
					if !slices.Contains(dirs, dir) {
						dirs = append(dirs, dir)
					}
				}
			}
		}
		walk("/ck")
		return n, dirs
	}
	// Two more checkpoints complete after the last line, so the segments
	// of the bursts are all before the two newest.
	logged := j.stats.Logged.Load()
	var left int
	j.waitFor("old segments deleted", func() bool {
		left, _ = segments()
		return left <= 3
	})
	if got := published(t, fs, "/out"); !slices.Equal(got, want) {
		t.Fatalf("published %d lines, want %d in order (first difference near %s)", len(got), len(want), firstDiff(got, want))
	}
	if _, dirs := segments(); len(dirs) != 1 || logged < n {
		t.Fatalf("segments in %v, %d lines logged: want one log of all %d lines", dirs, logged, n)
	}
}

// A clone is the checkpoint filesystem as a crash at one moment leaves
// it, and how many records the source had logged (synced) before.
type clone struct {
	fs     *vfs.MemFS
	logged int64
}

// Many TCP clients send to a checkpointed job with Durable while the
// process "crashes" at random moments (crash clones of the checkpoint
// filesystem, some keeping part of what was not synced); each clone is
// restored with the clients sending one END line each, and run until
// their END lines are published. Each restored output, the published
// part files of an exactly-once sink, holds for each client a prefix of
// what it sent, in order, each line once, then END; together at least
// every line logged before the crash; and for the clone taken once
// everything sent was logged, exactly the lines sent. Dead letters: none.
func TestDurableTCPCrashRestore(t *testing.T) {
	const clients, perClient = 12, 400
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	mem := &cloneableMem{MemFS: vfs.NewCrashableMem()}
	j := startDurable(t, mem, tcpLines, numbered)

	var wg sync.WaitGroup
	for c := range clients {
		crng := rand.New(rand.NewPCG(seed, uint64(c)+100))
		wg.Go(func() {
			conn, err := net.Dial("tcp", j.addr.String())
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			var b []byte
			for i := range perClient {
				b = fmt.Appendf(b, "c%02d %05d\n", c, i)
				if crng.IntN(20) == 0 || i == perClient-1 {
					// Cut anywhere: a line may straddle two writes.
					cut := crng.IntN(len(b) + 1)
					if _, err := conn.Write(b[:cut]); err != nil {
						t.Error(err)
						return
					}
					time.Sleep(time.Duration(crng.IntN(3)) * time.Millisecond)
					if _, err := conn.Write(b[cut:]); err != nil {
						t.Error(err)
						return
					}
					b = b[:0]
				}
			}
		})
	}
	total := int64(clients * perClient)
	var clones []clone
	for j.stats.Logged.Load() < total {
		time.Sleep(time.Duration(2+rng.IntN(20)) * time.Millisecond)
		cfg := vfs.CrashCloneCfg{}
		if rng.IntN(3) == 0 {
			cfg = vfs.CrashCloneCfg{UnsyncedDataPercent: 50, RNG: rand.New(rand.NewPCG(rng.Uint64(), 0))}
		}
		logged := j.stats.Logged.Load() // before the clone: all of it synced in the clone
		clones = append(clones, clone{mem.clone(cfg), logged})
		if len(clones) > 2000 {
			t.Fatalf("the clients' %d lines were not all logged (%v)", total, j.stats)
		}
	}
	wg.Wait()
	clones = append(clones, clone{mem.clone(vfs.CrashCloneCfg{}), j.stats.Logged.Load()})
	j.stop()
	if got := j.stats.Lines.Load(); got != total {
		t.Fatalf("Stats.Lines = %d, want %d", got, total)
	}
	if len(clones) < 3 {
		t.Fatalf("only %d clones taken: the run was too short", len(clones))
	}

	// The last clone, and some spread over the run.
	picks := []int{len(clones) - 1}
	for k := range min(5, len(clones)-1) {
		picks = append(picks, k*(len(clones)-1)/min(5, len(clones)-1))
	}
	var replayed int64
	for _, k := range slices.Compact(slices.Sorted(slices.Values(picks))) {
		cl := clones[k]
		r := startDurable(t, cl.fs, tcpLines, numbered)
		for c := range clients {
			conn, err := net.Dial("tcp", r.addr.String())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "c%02d END\n", c)
			conn.Close()
		}
		var out []string
		r.waitFor("the END lines", func() bool {
			out = published(t, cl.fs, "/out")
			ends := 0
			for _, s := range out {
				if strings.HasSuffix(s, " END") {
					ends++
				}
			}
			return ends >= clients
		})
		r.stop()
		replayed += r.stats.Replayed.Load()

		// Per client: its lines in order, a prefix of what it sent, then END.
		next := make([]int, clients)
		ended := make([]bool, clients)
		for _, s := range out {
			_, text, _ := strings.Cut(s, "|")
			var c, i int
			if _, err := fmt.Sscanf(text, "c%02d END", &c); err == nil && strings.HasSuffix(text, "END") {
				if ended[c] {
					t.Fatalf("clone %d: client %d's END twice", k, c)
				}
				ended[c] = true
				continue
			}
			if _, err := fmt.Sscanf(text, "c%02d %05d", &c, &i); err != nil || c < 0 || c >= clients {
				t.Fatalf("clone %d: a line no client sent: %q", k, s)
			}
			if ended[c] || i != next[c] {
				t.Fatalf("clone %d: client %d's line %d where %d was due (a line lost, repeated or out of order; END seen %v): %q",
					k, c, i, next[c], ended[c], s)
			}
			if want := strconv.Itoa(i+1) + "|"; !strings.HasPrefix(s, want) {
				t.Fatalf("clone %d: %q: want its number in its connection, %d", k, s, i+1)
			}
			next[c]++
		}
		got := 0
		for _, n := range next {
			got += n
		}
		if int64(got) < cl.logged {
			t.Fatalf("clone %d: %d lines in the output, fewer than the %d logged before the crash", k, got, cl.logged)
		}
		if k == len(clones)-1 && int64(got) != total {
			t.Fatalf("the clone taken once all was logged: %d lines in the output, want the %d sent", got, total)
		}
		if dead := published(t, cl.fs, "/dead"); len(dead) != 0 {
			t.Fatalf("clone %d: dead letters %q", k, dead)
		}
		t.Logf("clone %d of %d: %d logged before the crash, %d in the output, %d replayed", k, len(clones), cl.logged, got, r.stats.Replayed.Load())
	}
	if replayed == 0 {
		t.Fatal("no restore replayed anything from the log: the test did not check the replay")
	}
}

// UDP syslog with Durable: messages from one sender, paced so that the
// kernel drops none, are logged; a crash once half of them were logged,
// and one once all were, each restored: the output holds each logged
// message once, with its sender's address and number, and after the
// second crash exactly the messages sent.
func TestDurableSyslogUDP(t *testing.T) {
	const n, burst = 600, 50
	mem := &cloneableMem{MemFS: vfs.NewCrashableMem()}
	withPeer := func(l logs.Line) string { return l.Source + "|" + numbered(l) }
	j := startDurable(t, mem, syslogOn("udp"), withPeer)
	conn, err := net.Dial("udp", j.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	peer := conn.LocalAddr().String()
	msg := func(i int) string { return fmt.Sprintf("<13>Dec  1 12:00:00 host app[7]: message %d", i) }
	var clones []clone
	for i := 0; i < n; i += burst {
		for k := i; k < i+burst; k++ {
			if _, err := conn.Write([]byte(msg(k))); err != nil {
				t.Fatal(err)
			}
		}
		j.waitFor(fmt.Sprintf("%d messages logged", i+burst), func() bool { return j.stats.Logged.Load() >= int64(i+burst) })
		if i+burst == n/2 || i+burst == n {
			clones = append(clones, clone{mem.clone(vfs.CrashCloneCfg{}), j.stats.Logged.Load()})
		}
	}
	j.stop()
	for k, cl := range clones {
		r := startDurable(t, cl.fs, syslogOn("udp"), withPeer)
		end, err := net.Dial("udp", r.addr.String())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		// END may be lost as any datagram may: sent again until published.
		r.waitFor("END", func() bool {
			end.Write([]byte("END"))
			out = published(t, cl.fs, "/out")
			return slices.ContainsFunc(out, func(s string) bool { return strings.HasSuffix(s, "|END") })
		})
		end.Close()
		r.stop()
		var got []string
		for _, s := range out {
			if !strings.HasSuffix(s, "|END") {
				got = append(got, s)
			}
		}
		var want []string
		for i := range int(cl.logged) {
			want = append(want, fmt.Sprintf("%s|%d|%s", peer, i+1, msg(i)))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("clone %d (%d logged): output of %d messages, want %d; first difference %s", k, cl.logged, len(got), len(want), firstDiff(got, want))
		}
		t.Logf("clone %d: %d messages, %d replayed", k, len(got), r.stats.Replayed.Load())
	}
}

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var a, b string
		if i < len(got) {
			a = got[i]
		}
		if i < len(want) {
			b = want[i]
		}
		if a != b {
			return fmt.Sprintf("at %d: got %q, want %q", i, a, b)
		}
	}
	return "none"
}

// The bounds work with Durable: a connection over MaxConns is refused and
// counted, a line over MaxLineBytes and one cut by its connection's end go
// to the dead letters; they are logged with the lines, and a restore
// replays them as they were (text, number, error and its marks), each
// once in the exactly-once output.
func TestDurableKeepsBounds(t *testing.T) {
	mem := &cloneableMem{MemFS: vfs.NewCrashableMem()}
	j := startDurable(t, mem, tcpLines, numbered, listen.MaxConns(1), listen.MaxLineBytes(20))
	a, err := net.Dial("tcp", j.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(a, "ok 1\n%s\nok 2\n", strings.Repeat("x", 30))
	j.waitFor("three lines logged", func() bool { return j.stats.Logged.Load() >= 3 })
	b, err := net.Dial("tcp", j.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	b.SetReadDeadline(time.Now().Add(guard))
	if n, err := b.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("the connection over MaxConns: read %d, %v; want it closed", n, err)
	}
	b.Close()
	fmt.Fprint(a, "partial")
	a.Close()
	j.waitFor("the cut line logged", func() bool { return j.stats.Logged.Load() >= 4 })
	cl := mem.clone(vfs.CrashCloneCfg{})
	j.stop()
	if j.stats.Refused.Load() != 1 || j.stats.TooLong.Load() != 1 || j.stats.Cut.Load() != 1 || j.stats.Lines.Load() != 2 {
		t.Fatalf("stats %v: want 1 refused, 1 too long, 1 cut, 2 lines", j.stats)
	}

	r := startDurable(t, cl, tcpLines, numbered, listen.MaxConns(1), listen.MaxLineBytes(20))
	c, err := net.Dial("tcp", r.addr.String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "END\n")
	c.Close()
	var out []string
	r.waitFor("END", func() bool {
		out = published(t, cl, "/out")
		return slices.Contains(out, "1|END")
	})
	r.stop()
	if want := []string{"1|ok 1", "3|ok 2", "1|END"}; !slices.Equal(out, want) {
		t.Fatalf("output %q, want %q", out, want)
	}
	dead := published(t, cl, "/dead")
	want := []string{
		"2|" + strings.Repeat("x", 30) + "|true|false|false|braid: listen tcp 127.0.0.1:0: peer " + a.LocalAddr().String() + ", line 2: 30 bytes, over the limit of 20",
		"4|partial|false|true|false|braid: listen tcp 127.0.0.1:0: peer " + a.LocalAddr().String() + ", line 4: ",
	}
	if len(dead) != 2 || dead[0] != want[0] || !strings.HasPrefix(dead[1], want[1]) {
		t.Fatalf("dead letters\n%s\nwant\n%s", strings.Join(dead, "\n"), strings.Join(want, "\n"))
	}
}
