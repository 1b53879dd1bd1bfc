package config

import (
	"strings"
	"testing"
)

// TestErrorsShowNoCredentials: a URL refused in the project file is
// quoted in the error without its userinfo or query values, either of
// which can hold a token (GitHub takes https://TOKEN@host).
func TestErrorsShowNoCredentials(t *testing.T) {
	const secret = "s3cretT0kenValue"
	for _, yaml := range []string{
		"advisories:\n  osv: https://" + secret + "@example.com/osv\n",
		"advisories:\n  osv: https://user:" + secret + "@example.com/osv\n",
		"advisories:\n  feed: ftp://" + secret + "@example.com/feed.json\n",
		"advisories:\n  feed: ftp://example.com/feed.json?token=" + secret + "\n",
	} {
		_, err := Parse(FileName, []byte(valid+yaml))
		if err == nil {
			t.Errorf("%q: no error", yaml)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%q: the error shows the credential: %v", yaml, err)
		}
	}
	for _, yaml := range []string{
		strings.Replace(valid, "https://github.com/kubernetes/kubernetes", "https://github.com/kubernetes/kubernetes?access_token="+secret, 1),
		strings.Replace(valid, "https://github.com/kubernetes/kubernetes", "https://"+secret+"@github.com/?x", 1),
		withGitHub + "    api: https://ghe.example.com/?token=" + secret + "\n",
	} {
		_, err := Parse(FileName, []byte(yaml))
		if err == nil {
			t.Errorf("%q: no error", yaml)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error shows the credential: %v", err)
		}
	}
}
