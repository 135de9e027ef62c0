// Package buildinfo reports the version of the running binary from the
// information the Go toolchain embeds in it.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Info is what is known about the build of the binary.
type Info struct {
	// Version is the module version, or "devel" for a local build.
	Version string
	// Revision is the VCS commit, or "unknown" when the build recorded none.
	Revision string
	// Time is the commit time (RFC 3339), or "" when unknown.
	Time string
	// Modified is true when the working tree had uncommitted changes.
	Modified bool
	// GoVersion is the toolchain that built the binary.
	GoVersion string
}

// Read returns the build information of the running binary.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return FromBuildInfo(nil)
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo extracts Info from bi; nil gives a development build.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Version: "devel", Revision: "unknown", GoVersion: runtime.Version()}
	if bi == nil {
		return info
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		info.Version = v
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if s.Value != "" {
				info.Revision = s.Value
			}
		case "vcs.time":
			info.Time = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

// String is the one-line version text of `kimibot version`.
func (i Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kimibot %s (revision %s", i.Version, i.Revision)
	if i.Modified {
		b.WriteString(", modified")
	}
	if i.Time != "" {
		fmt.Fprintf(&b, ", built from a commit of %s", i.Time)
	}
	fmt.Fprintf(&b, ", %s)", i.GoVersion)
	return b.String()
}
