package owners

import (
	"strings"
	"testing"
)

func TestCanDecide(t *testing.T) {
	tree, _ := loadMap(t, kubernetes)
	policy := &Approvers{Tree: tree, SecurityTeam: []string{"security-response-committee", "Security-Sam"}}

	const (
		netDir  = "vendor/golang.org/x/net"
		utilDir = "staging/src/k8s.io/apiserver/pkg/util"
		cmDir   = "pkg/kubelet/cm"
	)
	for _, tc := range []struct {
		name   string
		login  string
		dirs   []string
		allow  bool
		reason string
	}{
		// Who may decide.
		{"root approver", "dims", nil, true, "dims is an approver in OWNERS"},
		{"root approver, other case", "THOCKIN", []string{netDir}, true, "thockin is an approver in OWNERS"},
		{"root approver through an alias", "CPanato", nil, true, "cpanato is an approver in OWNERS through the alias sig-release-leads"},
		{"root approver below a no_parent_owners file", "saschagrunert", []string{utilDir}, true, "saschagrunert is an approver in OWNERS through the alias sig-release-leads"},
		{"security team alias", "tabbysable", []string{cmDir}, true, "tabbysable is in the security team through the alias security-response-committee"},
		{"security team login", "security-SAM", nil, true, "security-sam is in the security team"},
		{"dependency approver", "liggitt", []string{cmDir, netDir}, true, "liggitt is an approver in pkg/OWNERS, which covers pkg/kubelet/cm"},
		{"dependency approver through vendor", "BenTheElder", []string{utilDir, netDir}, true, "bentheelder is an approver in vendor/OWNERS through the alias dep-approvers, which covers vendor/golang.org/x/net"},
		{"approver of the directory itself", "sttts", []string{"staging/src/k8s.io/apiserver"}, true, "sttts is an approver in staging/src/k8s.io/apiserver/OWNERS"},
		{"approver through an alias of a staging dir", "jpbetz", []string{utilDir}, true, "jpbetz is an approver in staging/src/k8s.io/apiserver/OWNERS through the alias sig-api-machinery-api-approvers, which covers staging/src/k8s.io/apiserver/pkg/util"},
		{"approver of a .* filter", "kubelet-kim", []string{cmDir}, true, "kubelet-kim is an approver in pkg/kubelet/OWNERS, which covers pkg/kubelet/cm"},
		{"member of a looping alias", "zed", []string{"test/e2e/network"}, true, "zed is an approver in test/e2e/OWNERS through the alias loop-a, which covers test/e2e/network"},
		{"member of an alias inside an alias", "puerco", []string{"test/e2e"}, true, "puerco is an approver in test/e2e/OWNERS through the alias release-engineering-approvers"},
		{"dirs written loosely", "sttts", []string{"./staging/src/k8s.io/apiserver/pkg/util/"}, true, "sttts is an approver in staging/src/k8s.io/apiserver/OWNERS, which covers staging/src/k8s.io/apiserver/pkg/util"},

		// Who may not.
		{"nobody", "bob", []string{netDir, utilDir}, false,
			"bob is not an approver of ., vendor/golang.org/x/net or staging/src/k8s.io/apiserver/pkg/util and not in the security team (security-response-committee, security-sam)"},
		{"approver elsewhere", "liggitt", []string{utilDir}, false,
			"liggitt is not an approver of . or staging/src/k8s.io/apiserver/pkg/util and not in the security team (security-response-committee, security-sam)"},
		{"parent approver cut off by no_parent_owners", "staging-sam", []string{utilDir}, false,
			"staging-sam is not an approver of . or staging/src/k8s.io/apiserver/pkg/util and not in the security team (security-response-committee, security-sam)"},
		{"dependency approver cut off from a pkg", "bentheelder", []string{cmDir}, false,
			"bentheelder is not an approver of . or pkg/kubelet/cm and not in the security team (security-response-committee, security-sam)"},
		{"emeritus approver", "lavalamp", []string{cmDir}, false,
			"lavalamp is not an approver of . or pkg/kubelet/cm and not in the security team (security-response-committee, security-sam) (lavalamp is an emeritus approver in OWNERS and an emeritus approver in pkg/OWNERS, which gives no say)"},
		{"emeritus approver of a staging dir", "ex-eve", []string{utilDir}, false,
			"ex-eve is not an approver of . or staging/src/k8s.io/apiserver/pkg/util and not in the security team (security-response-committee, security-sam) (ex-eve is an emeritus approver in staging/src/k8s.io/apiserver/OWNERS, which gives no say)"},
		{"root reviewer", "reviewer-rita", nil, false,
			"reviewer-rita is not an approver of . and not in the security team (security-response-committee, security-sam) (reviewer-rita is a reviewer in OWNERS, which gives no say)"},
		{"reviewer and required reviewer", "Rev-Rob", []string{utilDir}, false,
			"rev-rob is not an approver of . or staging/src/k8s.io/apiserver/pkg/util and not in the security team (security-response-committee, security-sam) (rev-rob is a reviewer in staging/src/k8s.io/apiserver/OWNERS, which gives no say)"},
		{"required reviewer", "req-ray", []string{utilDir}, false,
			"req-ray is not an approver of . or staging/src/k8s.io/apiserver/pkg/util and not in the security team (security-response-committee, security-sam) (req-ray is a required reviewer in staging/src/k8s.io/apiserver/OWNERS, which gives no say)"},
		{"emeritus reviewer", "ex-ed", []string{utilDir}, false,
			"ex-ed is not an approver of . or staging/src/k8s.io/apiserver/pkg/util and not in the security team (security-response-committee, security-sam) (ex-ed is an emeritus reviewer in staging/src/k8s.io/apiserver/OWNERS, which gives no say)"},
		{"dependency reviewer through an alias", "logicalhan", []string{netDir}, false,
			"logicalhan is not an approver of . or vendor/golang.org/x/net and not in the security team (security-response-committee, security-sam) (logicalhan is a reviewer in vendor/OWNERS, which gives no say)"},
		{"approver of .go files only", "go-gopher", []string{cmDir}, false,
			`go-gopher is not an approver of . or pkg/kubelet/cm and not in the security team (security-response-committee, security-sam) (go-gopher is an approver of the files matching "\\.go$" only in pkg/kubelet/OWNERS, which gives no say)`},
		{"approver of .md files only", "docs-dora", nil, false,
			`docs-dora is not an approver of . and not in the security team (security-response-committee, security-sam) (docs-dora is an approver of the files matching "\\.md$" only in OWNERS, which gives no say)`},
		{"an alias name is not a login", "sig-release-leads", nil, false,
			"sig-release-leads is not an approver of . and not in the security team (security-response-committee, security-sam)"},
		{"the security team's alias name is not a login", "Security-Response-Committee", nil, false,
			"security-response-committee is not an approver of . and not in the security team (security-response-committee, security-sam)"},
		{"a looping alias's name is not a login", "loop-b", []string{"test/e2e"}, false,
			"loop-b is not an approver of . or test/e2e and not in the security team (security-response-committee, security-sam)"},
		{"approver of a malformed file", "alice", []string{"hack"}, false,
			"alice is not an approver of . or hack and not in the security team (security-response-committee, security-sam)"},
		{"approver in an ignored directory", "test-tom", []string{"testdata"}, false,
			"test-tom is not an approver of . or testdata and not in the security team (security-response-committee, security-sam)"},
		{"directories outside the repository are not checked", "dims", []string{"../x"}, true, "dims is an approver in OWNERS"},
		{"directories outside the repository grant nothing", "liggitt", []string{"../vendor/x", "/vendor/x", "vendor/../../vendor/x"}, false,
			"liggitt is not an approver of . and not in the security team (security-response-committee, security-sam)"},

		// Malformed logins.
		{"empty", "", []string{netDir}, false, "the comment has no author"},
		{"spaces", "di ms", nil, false, `"di ms" is not a GitHub login`},
		{"at sign", "@dims", nil, false, `"@dims" is not a GitHub login`},
		{"newline", "dims\n", nil, false, `"dims\n" is not a GitHub login`},
		{"Kelvin sign", "\u212Aubelet-kim", []string{cmDir}, false, `"\u212aubelet-kim" is not a GitHub login`},
		{"path", "../dims", nil, false, `"../dims" is not a GitHub login`},
		{"underscore", "dep_approvers", nil, false, `"dep_approvers" is not a GitHub login`},
		{"too long", strings.Repeat("a", 40), nil, false, `"` + strings.Repeat("a", 40) + `" is not a GitHub login`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := policy.CanDecide(tc.login, tc.dirs)
			if got.Allowed != tc.allow || got.Reason != tc.reason {
				t.Errorf("CanDecide(%q, %q) =\n%v %q\nwant\n%v %q", tc.login, tc.dirs, got.Allowed, got.Reason, tc.allow, tc.reason)
			}
		})
	}
}

func TestCanDecideWithoutOwners(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy *Approvers
		login  string
		allow  bool
		reason string
	}{
		{"nil policy", nil, "dims", false, "dims is not an approver of . or pkg and no security team is configured; no OWNERS files were read"},
		{"no tree, team login", &Approvers{SecurityTeam: []string{"sam"}}, "Sam", true, "sam is in the security team"},
		{"no tree, team alias unexpanded", &Approvers{SecurityTeam: []string{"team", "bad name"}}, "dims", false, "dims is not an approver of . or pkg and not in the security team (team); no OWNERS files were read"},
		{"empty tree", &Approvers{Tree: &Tree{}}, "dims", false, "dims is not an approver of . or pkg and no security team is configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.policy.CanDecide(tc.login, []string{"pkg"})
			if got.Allowed != tc.allow || got.Reason != tc.reason {
				t.Errorf("CanDecide =\n%v %q\nwant\n%v %q", got.Allowed, got.Reason, tc.allow, tc.reason)
			}
		})
	}
}

// TestCanDecideManyDirs checks that a refusal names a bounded number of
// directories.
func TestCanDecideManyDirs(t *testing.T) {
	tree, _ := loadMap(t, kubernetes)
	var dirs []string
	for i := range 20 {
		dirs = append(dirs, "pkg/d"+strings.Repeat("x", i))
	}
	got := (&Approvers{Tree: tree}).CanDecide("bob", dirs)
	want := "bob is not an approver of ., pkg/d, pkg/dx, pkg/dxx, pkg/dxxx, pkg/dxxxx, pkg/dxxxxx, pkg/dxxxxxx or 13 more directories and no security team is configured"
	if got.Allowed || got.Reason != want {
		t.Errorf("CanDecide = %v %q, want %q", got.Allowed, got.Reason, want)
	}
}
