package report

import (
	"io"

	"github.com/vexloom/vexloom/internal/jsonx"
)

// WriteJSON writes the report in vexloom's own schema (see Schema).
func WriteJSON(w io.Writer, r *Scan) error {
	return jsonx.Write(w, r)
}
