package server

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
)

// listenDebug binds Config.DebugAddr, which must be a loopback address:
// Go's profiles (CPU, heap, goroutines…) reveal internals and cost CPU, so
// they are never on the public listener. `parley bench
// --server-debug-addr` uses them.
func listenDebug(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug-addr: %w", err)
	}
	if ap, ok := l.Addr().(*net.TCPAddr); !ok || !ap.IP.IsLoopback() {
		l.Close()
		return nil, fmt.Errorf("debug-addr %s: must be a loopback address", addr)
	}
	return l, nil
}

// serveDebug serves the profiles on l until l is closed.
func serveDebug(l net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	http.Serve(l, mux)
}
