package buildinfo

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

func TestEngineVersionMatchesGoMod(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == EngineModule {
			if r.Mod.Version != engineRequired {
				t.Fatalf("go.mod requires %s %s but engineRequired is %s", EngineModule, r.Mod.Version, engineRequired)
			}
			if v := Get().Engine; v != engineRequired {
				t.Errorf("Get().Engine = %s", v)
			}
			if !strings.Contains(Tool(), engineRequired) {
				t.Errorf("Tool() = %s", Tool())
			}
			return
		}
	}
	t.Fatalf("go.mod does not require %s", EngineModule)
}
