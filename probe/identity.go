package probe

import (
	"encoding/json"
	"net/http"
	"os"
)

// Environment variables read by IdentityFromEnv, normally filled in by the
// Kubernetes downward API.
const (
	EnvPodName  = "POD_NAME"
	EnvNodeName = "NODE_NAME"
	EnvPodIP    = "POD_IP"
)

// Identity describes the pod a probe server runs in. It is the JSON body the
// HTTP server returns for GET /.
type Identity struct {
	// Pod is the pod name.
	Pod string `json:"pod"`
	// Node is the name of the node the pod runs on.
	Node string `json:"node"`
	// IP is the pod IP.
	IP string `json:"ip"`
}

// IdentityFromEnv reads the Identity from POD_NAME, NODE_NAME and POD_IP;
// unset variables give empty fields.
func IdentityFromEnv() Identity {
	return Identity{
		Pod:  os.Getenv(EnvPodName),
		Node: os.Getenv(EnvNodeName),
		IP:   os.Getenv(EnvPodIP),
	}
}

// NewHTTPHandler returns the probe server's HTTP handler: GET / answers id
// as JSON, GET /healthz answers 200 "ok", and any other path is 404.
func NewHTTPHandler(id Identity) http.Handler {
	body, _ := json.Marshal(id) // a struct of strings always encodes
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(append(body, '\n'))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}
