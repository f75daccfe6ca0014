package helper

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

func init() {
	register(&command{
		name: "install-links", usage: "DIR",
		desc:     "create in DIR a symbolic link to the helper for every command (for Dockerfiles)",
		pos:      []string{"dir"},
		internal: true,
		run: func(e *cmdEnv, a *parsed) error {
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("finding the helper itself: %w", err)
			}
			if self, err = filepath.EvalSymlinks(self); err != nil {
				return fmt.Errorf("finding the helper itself: %w", err)
			}
			return installLinks(a.pos[0], self)
		},
	})
}

// installLinks makes DIR/<command> -> target for every command. An existing
// file of that name (an INGInious Python script in an image built on
// INGInious' base) is replaced; a directory is an error.
func installLinks(dir, target string) error {
	for _, name := range CommandNames() {
		link := filepath.Join(dir, name)
		info, err := os.Lstat(link)
		switch {
		case err == nil && info.IsDir():
			return fmt.Errorf("cannot link %s: it is a directory", link)
		case err == nil:
			if err := os.Remove(link); err != nil {
				return fmt.Errorf("replacing %s: %w", link, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("checking %s: %w", link, err)
		}
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("linking %s: %w", link, err)
		}
	}
	return nil
}
