// Command audit is a security-analytics job over the logs a Linux host
// and a Kubernetes cluster write: sshd's authentication log, netfilter's
// packet log (iptables -j LOG, nftables log) and the API server's audit
// log. It reads each FILE (or, without one, a built-in generator of all
// three), tells its format from its first lines (or takes -format), and
// in event time prints one line per finding:
//
//	SCAN      a source sent packets to more than -scan-ports distinct destination ports in a minute
//	PROBE     packets to RPC or NFS (ports 111, 2049) from outside the -allow networks, per source, port and minute
//	BRUTE     more than -brute-force failed logins from one client in the last minute, every 10 s
//	INVALID   more than -invalid-users "Invalid user" attempts from one client in a minute
//	SESSION   an attacker's session: a client's attempts (failed logins, connections that sent no
//	          identification) without a 5-minute pause, when at least -session-attempts: first and
//	          last seen, attempts, invalid users, logins accepted, distinct users tried
//	DENIED    more than -denied requests of one Kubernetes user refused (403) in 5 minutes
//	EXEC      a Kubernetes user ran a command in a pod (pods/exec)
//	ESCALATE  a Kubernetes user created a role binding, then read secrets within 10 minutes
//
// Run it:
//
//	go run ./examples/audit                                   # the generator: every kind of finding
//	go run ./examples/audit '/var/log/auth.log*'              # sshd: auth.log.2.gz, auth.log.1, auth.log
//	go run ./examples/audit -follow /var/log/auth.log /var/log/kern.log /var/log/kubernetes/audit.log
//	go run ./examples/audit -json -brute-force 20 ../shared/data/loghub/OpenSSH_2k.log
//
// Each FILE is a glob (filepath.Match syntax, quoted for the shell): the
// files it matches are one log, read oldest first as logrotate numbers
// them, compressed generations (.gz) too, with connectors/tail; with
// -follow the newest is followed as tail -F follows it, through
// rotations, until the job is interrupted (Ctrl-C).
//
// # Formats
//
// Each FILE is read as one of: sshd (the sshd lines of a syslog file:
// auth.log, secure; other programs' lines are skipped; a failed login is
// sshd's "Failed password", "Failed none" or "message repeated N times"
// of them, or, on older systems that log failures only through PAM under
// the tag sshd(pam_unix), PAM's "authentication failure"), netfilter (the
// packet lines of a syslog or journal file: kern.log, syslog; other lines
// are skipped), syslog (both, as in /var/log/syslog or messages), k8s
// (audit.k8s.io Event objects, one JSON object a line, as the API
// server's log backend writes them). Without -format (or with -format
// auto), the first 1000 lines of the first file of each glob that has
// lines decide: a JSON object of kind Event is k8s; lines with IN= and
// SRC= are netfilter; syslog lines of sshd are sshd; both kinds of syslog
// line, syslog. A glob that matches no file yet (with -follow) needs
// -format.
//
// # Time
//
// Findings are in event time, the time each line carries. Syslog's BSD
// timestamps ("Dec 10 06:55:46") have no year and no zone: the year is
// -year, or else the one that puts the first line no later than a day
// after the modification time of the newest file of its glob (and it goes
// up by one when the months go from December to January); the zone is
// -tz (default UTC).
// Kubernetes events are placed at their stageTimestamp, the order in which
// the log is written. Lines may come out of order by up to -bound: event
// time is, per file, the latest time seen so far minus -bound, moved on
// once a minute of it (so findings of sliding windows and sessions come
// up to a minute of event time later than they could). An event whose
// windows have all closed by then is late: it is written to the dead
// letters (below) as late and not counted. Since the files are merged,
// event time is that of the file furthest behind: a file that ended no
// longer holds the others back, and with -follow one that has been quiet
// for -idle does not either. With several files, which events are late
// can also depend on how fast each file was read; with one, only on the
// order of its lines.
//
// Of Kubernetes events only those of stage ResponseComplete (or Panic)
// count, so that each request counts once.
//
// # Bad input
//
// A line that cannot be read (a broken syslog header, an sshd message or
// a packet line cut short, JSON that is not an audit event, a line over
// 1 MiB, a line a rotation cut short) is a dead letter: its place (file,
// line number and byte offset: "auth.log.1:52 (byte 4810)"), the error
// and the line itself (its first 256 bytes for a long one) are written to
// -deadletters (default stderr), one a line, and the job goes on. Lines that are well formed but of no interest here
// (a cron line in auth.log, an sshd "Server listening") are skipped. At
// the end a summary goes to stderr: per file, its format, lines read,
// events kept, lines skipped and dead letters; then the dead letters and
// late events in all. Exit status: 2 for a bad command line; 1 when the
// job failed, a file could not be opened or its format told, or not one
// line of the input could be read (every line a dead letter, or none at
// all); 0 otherwise.
//
// # Checkpoints
//
// With -checkpoint DIR the job checkpoints every -checkpoint-every (the
// windows, the sessions, the joins, each glob's file and offset or the
// generators' positions) and, run again with the same arguments on the same DIR
// after a kill, resumes from the last complete checkpoint. Findings on
// stdout are then at least once (what followed the checkpoint is printed
// again); with -out OUTDIR they go instead into part files there, each
// published when its checkpoint completes: exactly once, the lines of a
// run that was never interrupted (see connectors/filesink). Dead letters
// are written at least once. The summary counts the lines of the run that
// prints it. A resumed run chooses syslog years afresh (from -year or the
// modification time), so give -year when a followed file spans New Year.
// DIR records the FILEs and -format (or -n and -seed) of its first run; a
// run with others is refused, saying so (an unquoted glob the shell
// expanded is the usual cause): remove DIR to start afresh.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/braidstream/braid/internal/cmdflag"
)

// config is what the command line asks for.
type config struct {
	files  []string // none: the generator
	format string   // "auto", or a format for every file
	follow bool
	json   bool

	year  int            // of BSD timestamps; 0: from each file's modification time
	tz    *time.Location // of BSD timestamps
	bound time.Duration  // out-of-orderness
	idle  time.Duration  // with follow: a file quiet this long does not hold event time back

	deadLetters string // file; "": errOut

	scanPorts, bruteForce, invalidUsers, denied int64
	sessionAttempts                             int64
	allow                                       []netip.Prefix

	n    int64 // lines per generated log
	seed uint64

	checkpoint      string
	checkpointEvery time.Duration
	out             string

	batchSize int // tests: records per batch (0: the default); results do not depend on it
}

func main() { cmdflag.Main("audit", parseFlags, run) }

// The default networks of -allow: private and loopback addresses.
const defaultAllow = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.0/8,fc00::/7,::1/128"

// parseFlags reads the command line into a config. A bad flag or value is
// an error, reported on errOut with the usage (flag.ErrHelp for -h).
func parseFlags(args []string, errOut io.Writer) (config, error) {
	cfg := config{tz: time.UTC}
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage of audit: audit [flags] [FILE...]\n"+
			"  security findings over sshd, netfilter and Kubernetes audit logs (a generated mix without FILE)\n")
		fs.PrintDefaults()
	}
	var tz, allow string
	fs.StringVar(&cfg.format, "format", "auto", "format of every FILE: sshd, netfilter, syslog (sshd and netfilter lines), k8s, or auto (told per file from its first lines)")
	fs.BoolVar(&cfg.follow, "follow", false, "keep reading lines appended to the files, until interrupted")
	fs.BoolVar(&cfg.json, "json", false, "print one JSON object per finding")
	fs.IntVar(&cfg.year, "year", 0, "year of syslog timestamps without one (0: the year that puts each file's first line before its modification time)")
	fs.StringVar(&tz, "tz", "UTC", "time zone of syslog timestamps without one: UTC, Local, or a name such as Europe/Paris")
	fs.DurationVar(&cfg.bound, "bound", 2*time.Second, "how far out of time order a file's lines may be")
	fs.DurationVar(&cfg.idle, "idle", 5*time.Second, "with -follow, a file without a new line for this long no longer holds event time back")
	fs.StringVar(&cfg.deadLetters, "deadletters", "", "write lines that cannot be read, and late events, to this file (default stderr)")
	fs.Int64Var(&cfg.scanPorts, "scan-ports", 20, "SCAN: more than this many distinct destination ports from one source in a minute")
	fs.Int64Var(&cfg.bruteForce, "brute-force", 10, "BRUTE: more than this many failed logins from one client in a minute")
	fs.Int64Var(&cfg.invalidUsers, "invalid-users", 5, "INVALID: more than this many invalid-user attempts from one client in a minute")
	fs.Int64Var(&cfg.sessionAttempts, "session-attempts", 3, "SESSION: sessions with at least this many attempts (failed logins, connections without identification)")
	fs.Int64Var(&cfg.denied, "denied", 5, "DENIED: more than this many requests of a user refused in 5 minutes")
	fs.StringVar(&allow, "allow", defaultAllow, "PROBE: networks allowed to reach RPC and NFS, comma-separated (\"\" for none)")
	fs.Int64Var(&cfg.n, "n", 20_000, "without FILE: lines of each generated log")
	fs.Uint64Var(&cfg.seed, "seed", 1, "without FILE: seed of the generated logs")
	fs.StringVar(&cfg.checkpoint, "checkpoint", "", "checkpoint into this directory, and resume from it when it holds a checkpoint")
	fs.DurationVar(&cfg.checkpointEvery, "checkpoint-every", time.Second, "time between two checkpoints (with -checkpoint)")
	fs.StringVar(&cfg.out, "out", "", "write findings into part files in this directory (exactly once with -checkpoint) instead of to stdout")
	if err := fs.Parse(args); err != nil {
		return cfg, err // fs has reported it
	}
	cfg.files = fs.Args()
	set := cmdflag.Set(fs)
	err := func() error {
		if !isFormat(cfg.format) {
			return fmt.Errorf("invalid value %q for flag -format: want sshd, netfilter, syslog, k8s or auto", cfg.format)
		}
		if cfg.follow && len(cfg.files) == 0 {
			return errors.New("-follow needs a FILE to follow")
		}
		if set["format"] && len(cfg.files) == 0 {
			return errors.New("-format needs a FILE: the generated logs have formats of their own")
		}
		if (set["n"] || set["seed"]) && len(cfg.files) > 0 {
			return errors.New("-n and -seed are of the generated logs: not with FILE")
		}
		if err := cmdflag.Files(cfg.files); err != nil {
			return err
		}
		if cfg.year < 0 || cfg.year > 9999 {
			return fmt.Errorf("invalid value %d for flag -year: want a year from 1 to 9999, or 0", cfg.year)
		}
		loc, err := time.LoadLocation(tz)
		if err != nil || tz == "" {
			return fmt.Errorf("invalid value %q for flag -tz: want UTC, Local or a zone name such as Europe/Paris", tz)
		}
		cfg.tz = loc
		if err := cmdflag.EventTime(cfg.bound, cfg.idle); err != nil {
			return err
		}
		for name, v := range map[string]int64{"scan-ports": cfg.scanPorts, "brute-force": cfg.bruteForce,
			"invalid-users": cfg.invalidUsers, "session-attempts": cfg.sessionAttempts, "denied": cfg.denied} {
			if v < 0 {
				return fmt.Errorf("invalid value %d for flag -%s: must not be negative", v, name)
			}
		}
		if cfg.allow, err = parseAllow(allow); err != nil {
			return err
		}
		if cfg.n <= 0 {
			return fmt.Errorf("invalid value %d for flag -n: want at least 1 line", cfg.n)
		}
		return cmp.Or(cmdflag.DeadLetters(set, cfg.deadLetters), cmdflag.Checkpoint(set, cfg.checkpoint, cfg.checkpointEvery, cfg.out))
	}()
	if err != nil {
		fmt.Fprintln(errOut, "audit:", err)
		fs.Usage()
	}
	return cfg, err
}

// parseAllow reads -allow: networks in CIDR notation, comma-separated.
func parseAllow(s string) ([]netip.Prefix, error) {
	var nets []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("invalid value %q for flag -allow: %q is not a network such as 10.0.0.0/8", s, f)
		}
		nets = append(nets, p.Masked())
	}
	return nets, nil
}
