package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		want Info
		text []string
	}{
		{"no build info", nil, Info{Version: "devel", Revision: "unknown"}, []string{"kimibot devel (revision unknown"}},
		{"local build without VCS", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			Info{Version: "devel", Revision: "unknown", GoVersion: "go1.26.0"}, []string{"devel", "go1.26.0"}},
		{"release with VCS", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"},
				{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}},
			Info{Version: "v1.4.0", Revision: "0123abc", Time: "2026-12-01T10:00:00Z", Modified: true, GoVersion: "go1.26.0"},
			[]string{"kimibot v1.4.0", "revision 0123abc", "modified", "2026-12-01T10:00:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := FromBuildInfo(tc.bi)
			if tc.want.GoVersion == "" {
				tc.want.GoVersion = got.GoVersion
			}
			if got != tc.want {
				t.Fatalf("FromBuildInfo = %+v, want %+v", got, tc.want)
			}
			for _, s := range tc.text {
				if !strings.Contains(got.String(), s) {
					t.Errorf("String() = %q, want it to contain %q", got.String(), s)
				}
			}
		})
	}
}
