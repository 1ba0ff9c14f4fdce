// An rclone binary for the tests, built from the pinned upstream module with
// only what the backup's off-site step and its test use: the s3 and local
// backends, copy, lsf, deletefile, and `serve s3` (the test's stand-in for
// an object store on loopback). The CronJob runs the official rclone image of
// the same version (golive:images.rclone); the commands are the same code.
package main

import (
	_ "github.com/rclone/rclone/backend/local"
	_ "github.com/rclone/rclone/backend/s3"
	"github.com/rclone/rclone/cmd"
	_ "github.com/rclone/rclone/cmd/cat"
	_ "github.com/rclone/rclone/cmd/copy"
	_ "github.com/rclone/rclone/cmd/copyto"
	_ "github.com/rclone/rclone/cmd/deletefile"
	_ "github.com/rclone/rclone/cmd/lsf"
	_ "github.com/rclone/rclone/cmd/serve/s3"
	_ "github.com/rclone/rclone/cmd/version"
)

func main() { cmd.Main() }
