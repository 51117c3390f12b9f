// Package web holds Parley's front ends as plain files — the widget loader
// and chat frame, the demo site — embedded in the binary. No build step:
// the files are served as they are written.
package web

import "embed"

// Files are the front-end files, by path: widget/widget.js, demo/index.html, ...
//
//go:embed widget demo console
var Files embed.FS
