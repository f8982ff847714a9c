package benchserver

import (
	"os"
	"strconv"
	"strings"
)

// PeakRSS returns the server's peak resident set size (VmHWM) in bytes, or 0
// when /proc cannot tell.
func (s *Server) PeakRSS() int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(s.PID) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
