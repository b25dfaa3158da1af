package app

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"revokebot/store/sqlite"
)

// BackupToStdout is the target that makes Backup write the copy to its writer instead of a file,
// for places with no shell or tar to fetch a file from, such as the distroless container:
// kubectl exec deploy/revokebot -- /revokebot backup - > revokebot.db
const BackupToStdout = "-"

// Backup writes a consistent copy of the store under dataDir to target, a file that must not
// exist yet, or to stdout when target is BackupToStdout. It is safe while the bot runs on the
// same store.
func Backup(ctx context.Context, dataDir, target string, stdout io.Writer) error {
	if target != BackupToStdout {
		return sqlite.Backup(ctx, dataDir, target)
	}
	// VACUUM INTO writes a file, so the copy goes through a temporary one.
	tmp, err := os.MkdirTemp("", "revokebot-backup-")
	if err != nil {
		return fmt.Errorf("back up to stdout: %w", err)
	}
	defer os.RemoveAll(tmp)
	file := filepath.Join(tmp, sqlite.FileName)
	if err := sqlite.Backup(ctx, dataDir, file); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("back up to stdout: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(stdout, f); err != nil {
		return fmt.Errorf("back up to stdout: %w", err)
	}
	return nil
}
