package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
)

// serveDebug serves Go's profiles (CPU, heap, goroutines…) on addr, a
// loopback address: they reveal internals and cost CPU, so they are never
// on the public listener. Used with `parley bench --server-debug-addr`.
func serveDebug(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("debug-addr: %w", err)
	}
	if ap, ok := l.Addr().(*net.TCPAddr); !ok || !ap.IP.IsLoopback() {
		l.Close()
		return fmt.Errorf("debug-addr %s: must be a loopback address", addr)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go http.Serve(l, mux)
	return nil
}
