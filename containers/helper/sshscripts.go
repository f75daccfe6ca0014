package helper

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
)

// ssh_student's setup and teardown scripts live, by INGInious' convention,
// in /task/student/scripts, beside what they prepare and check (an
// exercise's expected answers, a CTF's flags). INGInious hides the folder
// from the student while the session runs (chmod 000 by its root helper)
// and gives it back for the teardown. Here the student is the helper's
// own user, who could chmod it back, so the folder is taken off the disk
// into the helper's memory (not readable by the student: the helper is
// not dumpable), and written back before the teardown script, over
// whatever the student put in its place.

// scriptsDir is the folder hidden during a session, under the student's
// directory.
const scriptsDir = "scripts"

// Bounds of what is hidden: the scripts of a session are small, and their
// copy counts in the student container's memory. A folder over them stays
// visible, with a word on stderr.
const (
	maxHiddenBytes   = 16 << 20
	maxHiddenEntries = 4096
)

var errScriptsTooLarge = errors.New("over the bounds of what is hidden")

// hiddenEntry is a folder (data nil, dir true) or a regular file of the
// hidden folder, by its path inside it.
type hiddenEntry struct {
	name string
	dir  bool
	mode fs.FileMode
	data []byte
}

// hiddenScripts is the copy of a hidden scripts folder.
type hiddenScripts struct {
	student string // the student's directory
	entries []hiddenEntry
}

// hideScripts takes student/scripts off the disk into memory; nil (and no
// error) when there is no such folder. Links and other special files in
// it are left out (a link could lead the copy anywhere). On an error the
// folder stays as it was.
func hideScripts(student string) (*hiddenScripts, error) {
	root, err := os.OpenRoot(student)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if st, err := root.Lstat(scriptsDir); errors.Is(err, fs.ErrNotExist) || (err == nil && !st.IsDir()) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	h := &hiddenScripts{student: student}
	var total int64
	err = fs.WalkDir(root.FS(), scriptsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if len(h.entries) >= maxHiddenEntries {
			return errScriptsTooLarge
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			h.entries = append(h.entries, hiddenEntry{name: p, dir: true, mode: info.Mode().Perm()})
		case info.Mode().IsRegular():
			if total += info.Size(); total > maxHiddenBytes {
				return errScriptsTooLarge
			}
			data, err := readRegular(root, p, maxHiddenBytes)
			if err != nil {
				return err
			}
			h.entries = append(h.entries, hiddenEntry{name: p, mode: info.Mode().Perm(), data: data})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := root.RemoveAll(scriptsDir); err != nil {
		_ = h.restore() // what was removed before the failure
		return nil, fmt.Errorf("taking it off the disk: %w", err)
	}
	return h, nil
}

// readRegular reads the regular file p of root, at most max bytes,
// without waiting on what is not a regular file.
func readRegular(root *os.Root, p string, max int64) ([]byte, error) {
	f, err := root.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", p, errNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(data)) > max {
		err = errScriptsTooLarge
	}
	return data, err
}

// restore writes the hidden folder back, in place of whatever is at
// student/scripts now.
func (h *hiddenScripts) restore() error {
	if h == nil {
		return nil
	}
	root, err := os.OpenRoot(h.student)
	if err != nil {
		return err
	}
	defer root.Close()
	// The student's folders there may have lost their write or search
	// bits (a folder 0500 with a file in it made the removal fail, and
	// the student's own scripts stayed for the teardown): the student is
	// the helper's user, so the helper can give them back.
	_ = fs.WalkDir(root.FS(), scriptsDir, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = root.Chmod(p, 0o700)
		}
		return nil
	})
	if err := root.RemoveAll(scriptsDir); err != nil {
		return fmt.Errorf("removing what took its place: %w", err)
	}
	// Folders first with their owner's write bit, so that their entries
	// can be made; their own modes once all is written.
	for _, e := range h.entries {
		if e.dir {
			if err := root.Mkdir(e.name, 0o700); err != nil {
				return err
			}
			continue
		}
		f, err := root.OpenFile(e.name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, e.mode)
		if err != nil {
			return err
		}
		_, err = f.Write(e.data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = root.Chmod(e.name, e.mode)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path.Base(e.name), err)
		}
	}
	for i := len(h.entries) - 1; i >= 0; i-- {
		if e := h.entries[i]; e.dir {
			if err := root.Chmod(e.name, e.mode); err != nil {
				return err
			}
		}
	}
	return nil
}
