package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
)

// logSink writes the log of the kubelet's packages (klog's logger) as lines and hands each
// message to observe: the certificate manager tells its rotation deadline, the CSRs it creates
// and its failures only in its log ("Certificate rotation deadline determined", …).
type logSink struct {
	mu      *sync.Mutex
	out     io.Writer
	prefix  string
	name    string
	values  []any
	observe func(msg string, err error, kv map[string]any)
}

// maxLevel is the verbosity shown: the certificate manager logs its deadline at V(2).
const maxLevel = 2

func (l *logSink) Init(logr.RuntimeInfo)  {}
func (l *logSink) Enabled(level int) bool { return level <= maxLevel }

func (l *logSink) Info(_ int, msg string, kv ...any) { l.write(msg, nil, kv) }

func (l *logSink) Error(err error, msg string, kv ...any) { l.write(msg, err, kv) }

func (l *logSink) WithValues(kv ...any) logr.LogSink {
	c := *l
	c.values = append(append([]any{}, l.values...), kv...)
	return &c
}

func (l *logSink) WithName(name string) logr.LogSink {
	c := *l
	if c.name != "" {
		name = c.name + "/" + name
	}
	c.name = name
	return &c
}

func (l *logSink) write(msg string, err error, kv []any) {
	all := append(append([]any{}, l.values...), kv...)
	fields := map[string]any{}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", time.Now().UTC().Format("15:04:05.000"), l.prefix)
	if l.name != "" {
		fmt.Fprintf(&b, "%s: ", l.name)
	}
	b.WriteString(msg)
	if err != nil {
		fmt.Fprintf(&b, " err=%q", err.Error())
	}
	for i := 0; i+1 < len(all); i += 2 {
		key := fmt.Sprint(all[i])
		fields[key] = all[i+1]
		fmt.Fprintf(&b, " %s=%v", key, all[i+1])
	}
	b.WriteString("\n")
	l.mu.Lock()
	_, _ = io.WriteString(l.out, b.String())
	l.mu.Unlock()
	if l.observe != nil {
		l.observe(msg, err, fields)
	}
}
