package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// readSystemCPU returns the CPU time the whole system has spent so far, from
// the first line of /proc/stat.
func readSystemCPU() (systemCPU, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return systemCPU{}, false
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return systemCPU{}, false
	}
	var v [8]float64 // user nice system idle iowait irq softirq steal
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return systemCPU{}, false
		}
		v[i] = float64(n) / clockTicks
	}
	return systemCPU{
		busy:   v[0] + v[1] + v[2] + v[5] + v[6],
		iowait: v[4],
		steal:  v[7],
	}, true
}
