package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times; 100 on
// every Linux the project runs on (Go has no sysconf without cgo).
const clockTicks = 100

// peakRSSMiB is the process's peak resident set (VmHWM) in MiB: the memory
// to provision for it, whatever it uses at the moment it is read.
func peakRSSMiB(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest) // "123456 kB"
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("pid %d: unexpected VmHWM line %q", pid, line)
		}
		kb, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, fmt.Errorf("pid %d: VmHWM %q: %w", pid, fields[0], err)
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("pid %d: no VmHWM in /proc status", pid)
}

// cpuSeconds is the user plus system CPU the process has used so far; the
// difference across a phase says where the two cores went.
func cpuSeconds(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	// The command name may hold spaces; the fields after its ')' are fixed.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("pid %d: malformed stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	// After ')': state is field 3 of proc(5), utime 14, stime 15.
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("pid %d: short stat", pid)
	}
	u, err1 := strconv.ParseFloat(fields[utime], 64)
	s, err2 := strconv.ParseFloat(fields[stime], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("pid %d: stat times %q %q", pid, fields[utime], fields[stime])
	}
	return (u + s) / clockTicks, nil
}

// machineBusySeconds is the CPU time all processes on the machine have used
// so far (every core, from /proc/stat). Minus what the benchmark's own
// processes used, it shows whether something else competed for the cores
// during a phase: figures from such a run are not the machine's.
func machineBusySeconds() (float64, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, fmt.Errorf("read /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	busy := 0.0
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat field %d %q: %w", i, fields[i], err)
		}
		busy += v
	}
	return busy / clockTicks, nil
}
