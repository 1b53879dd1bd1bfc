// Package buildinfo reports the versions of vexloom and of the engines it
// embeds, so that every piece of evidence names the exact tool that made it.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// ToolName is the name vexloom gives itself in evidence and documents.
const ToolName = "vexloom"

// EngineModule is the module whose scanner vexloom runs in-process.
const EngineModule = "golang.org/x/vuln"

// engineRequired is the version of EngineModule that go.mod requires. It is
// reported when the binary carries no module information (test binaries);
// a test keeps it equal to go.mod.
const engineRequired = "v1.9.0"

// Versions describes the running binary.
type Versions struct {
	// Tool is vexloom's own version: the module version when built from a
	// tagged module, otherwise "devel" plus the VCS revision when known.
	Tool string `json:"tool"`
	// Engine is the version of golang.org/x/vuln linked into this binary.
	Engine string `json:"engine"`
	// Go is the Go version the binary was built with.
	Go string `json:"go"`
}

var (
	once     sync.Once
	versions Versions
)

// Get returns the versions of the running binary.
func Get() Versions {
	once.Do(func() {
		versions = Versions{Tool: "devel", Engine: engineRequired, Go: runtime.Version()}
		bi, ok := debug.ReadBuildInfo()
		if !ok {
			return
		}
		versions.Go = bi.GoVersion
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			versions.Tool = v
		} else {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					versions.Tool = "devel-" + s.Value[:12]
				}
			}
		}
		for _, d := range bi.Deps {
			if d.Path == EngineModule {
				if d.Replace != nil {
					d = d.Replace
				}
				versions.Engine = d.Version
			}
		}
	})
	return versions
}

// Tool returns a one-line description such as
// "vexloom devel (golang.org/x/vuln v1.9.0)".
func Tool() string {
	v := Get()
	return ToolName + " " + v.Tool + " (" + EngineModule + " " + v.Engine + ")"
}
