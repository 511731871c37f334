package exactlyonce_test

import (
	"io"
	"os"
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// opKind is a filesystem operation that changes what is on disk, or what
// of it is durable.
type opKind int

const (
	opCreate opKind = iota
	opLink
	opRemove
	opRemoveAll
	opRename
	opReuseForWrite
	opMkdirAll
	opLock
	opWrite
	opSync
)

func (k opKind) String() string {
	return [...]string{"create", "link", "remove", "removeAll", "rename", "reuseForWrite", "mkdirAll", "lock", "write", "sync"}[k]
}

// fsOp is one operation: its kind, its path and, for a rename or a link,
// the new path. post is false when the hook runs before the operation,
// true after it (then err is its result).
type fsOp struct {
	kind     opKind
	path, to string
	post     bool
	err      error
}

// hookFS is a crashable in-memory filesystem that calls hook before and
// after every operation that changes it or its durability (creating,
// linking, renaming, removing, writing, syncing), from the goroutine doing
// it; the hook may take a crash clone of mem with clone.
//
// MemFS's Link and Lock take its clone lock shared twice, so a CrashClone
// that comes between waits for them while they wait for it: hookFS runs
// them under a lock of its own that clone takes exclusively.
type hookFS struct {
	vfs.FS // the MemFS, for what is not hooked (reads, paths)
	mem    *vfs.MemFS
	hook   func(op fsOp)
	guard  sync.RWMutex
}

func newHookFS(mem *vfs.MemFS, hook func(op fsOp)) *hookFS {
	return &hookFS{FS: mem, mem: mem, hook: hook}
}

// clone returns a crash clone of the filesystem: what is synced, and what
// cfg keeps of the rest.
func (h *hookFS) clone(cfg vfs.CrashCloneCfg) *vfs.MemFS {
	h.guard.Lock()
	defer h.guard.Unlock()
	return h.mem.CrashClone(cfg)
}

func (h *hookFS) do(op fsOp, fn func() error) error {
	h.hook(op)
	op.err = fn()
	op.post = true
	h.hook(op)
	return op.err
}

func (h *hookFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	var f vfs.File
	err := h.do(fsOp{kind: opCreate, path: name}, func() (err error) {
		f, err = h.mem.Create(name, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, fs: h, path: name}, nil
}

func (h *hookFS) Link(oldname, newname string) error {
	return h.do(fsOp{kind: opLink, path: oldname, to: newname}, func() error {
		h.guard.RLock()
		defer h.guard.RUnlock()
		return h.mem.Link(oldname, newname)
	})
}

func (h *hookFS) Lock(name string) (io.Closer, error) {
	var c io.Closer
	err := h.do(fsOp{kind: opLock, path: name}, func() (err error) {
		h.guard.RLock()
		defer h.guard.RUnlock()
		c, err = h.mem.Lock(name)
		return err
	})
	return c, err
}

func (h *hookFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := h.mem.Open(name, opts...)
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, fs: h, path: name}, nil
}

func (h *hookFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := h.mem.OpenReadWrite(name, c, opts...)
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, fs: h, path: name}, nil
}

func (h *hookFS) OpenDir(name string) (vfs.File, error) {
	f, err := h.mem.OpenDir(name)
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, fs: h, path: name}, nil
}

func (h *hookFS) Remove(name string) error {
	return h.do(fsOp{kind: opRemove, path: name}, func() error { return h.mem.Remove(name) })
}

func (h *hookFS) RemoveAll(name string) error {
	return h.do(fsOp{kind: opRemoveAll, path: name}, func() error { return h.mem.RemoveAll(name) })
}

func (h *hookFS) Rename(oldname, newname string) error {
	return h.do(fsOp{kind: opRename, path: oldname, to: newname}, func() error { return h.mem.Rename(oldname, newname) })
}

func (h *hookFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	var f vfs.File
	err := h.do(fsOp{kind: opReuseForWrite, path: oldname, to: newname}, func() (err error) {
		f, err = h.mem.ReuseForWrite(oldname, newname, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &hookFile{File: f, fs: h, path: newname}, nil
}

func (h *hookFS) MkdirAll(dir string, perm os.FileMode) error {
	return h.do(fsOp{kind: opMkdirAll, path: dir}, func() error { return h.mem.MkdirAll(dir, perm) })
}

func (h *hookFS) Unwrap() vfs.FS { return h.mem }

// hookFile hooks the writes and syncs of a file of a hookFS.
type hookFile struct {
	vfs.File
	fs   *hookFS
	path string
}

func (f *hookFile) Write(p []byte) (n int, err error) {
	err = f.fs.do(fsOp{kind: opWrite, path: f.path}, func() (err error) {
		n, err = f.File.Write(p)
		return err
	})
	return n, err
}

func (f *hookFile) WriteAt(p []byte, off int64) (n int, err error) {
	err = f.fs.do(fsOp{kind: opWrite, path: f.path}, func() (err error) {
		n, err = f.File.WriteAt(p, off)
		return err
	})
	return n, err
}

func (f *hookFile) Sync() error {
	return f.fs.do(fsOp{kind: opSync, path: f.path}, f.File.Sync)
}

func (f *hookFile) SyncData() error {
	return f.fs.do(fsOp{kind: opSync, path: f.path}, f.File.SyncData)
}

func (f *hookFile) SyncTo(length int64) (full bool, err error) {
	err = f.fs.do(fsOp{kind: opSync, path: f.path}, func() (err error) {
		full, err = f.File.SyncTo(length)
		return err
	})
	return full, err
}

// The phases of a checkpoint a crash point can fall in.
const (
	phaseState     = "state write"                          // Pebble's files: the live database, a checkpoint's tables and MANIFEST
	phaseRecord    = "before the completion record"         // writing, syncing, renaming COMPLETE.tmp
	phaseUnsynced  = "completion record not yet synced"     // renamed into place, its directory not synced
	phaseRecorded  = "after the completion record"          // durable, the sinks not yet told
	phasePrune     = "deleting old checkpoints"             // a retired checkpoint's record and directory
	phaseStage     = "sink staging"                         // a sink subtask's open and pre-committed part files
	phasePublish   = "sink commit: before the rename"       // publishing a staged part file
	phasePublished = "sink commit: renamed, dir not synced" // published, the output directory not synced
	phaseOther     = "other"
	restorePrefix  = "during restore: "
)

// classify names the phase a crash point before (or, for post, after) op
// falls in. renamed holds the checkpoint directories whose completion
// record was renamed into place and whose directory sync is still to come.
func classify(op fsOp, renamed map[string]bool) string {
	p := op.path
	switch {
	case strings.HasPrefix(p, outDir+"/.staging/"):
		if op.kind == opRename && strings.HasPrefix(op.to, outDir+"/part-") {
			if op.post {
				return phasePublished
			}
			return phasePublish
		}
		return phaseStage
	case strings.HasPrefix(p, outDir):
		return phaseStage
	case strings.HasSuffix(p, "/COMPLETE.tmp"):
		if op.kind == opRename && op.post {
			renamed[pathDir(p)] = true
			return phaseUnsynced
		}
		return phaseRecord
	case op.kind == opSync && renamed[p]:
		if op.post {
			delete(renamed, p)
			return phaseRecorded
		}
		return phaseUnsynced
	case strings.HasPrefix(p, ckDir+"/chk-") && (op.kind == opRemoveAll && !strings.Contains(strings.TrimPrefix(p, ckDir+"/"), "/") ||
		op.kind == opRemove && strings.HasSuffix(p, "/COMPLETE")):
		return phasePrune
	case strings.HasPrefix(p, ckDir):
		return phaseState
	}
	return phaseOther
}

func pathDir(p string) string { return p[:strings.LastIndexByte(p, '/')] }
