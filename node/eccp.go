package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"pbx/clients"
	"pbx/eccp"
	"pbx/rwi"
	"pbx/web"
)

// startECCP starts the ECCP server when eccp.listen is set.
func (s *Node) startECCP() error {
	if s.cfg.ECCP.Listen == "" {
		return nil
	}
	ec := s.cfg.ECCP
	if ec.TLS != "" && ec.TLSCert == "" && ec.TLSKey == "" { // as Parse fills it, for a Config built in code
		ec.TLSCert, ec.TLSKey = s.cfg.SIP.TLSCert, s.cfg.SIP.TLSKey
	}
	srv, err := eccp.New(eccp.Options{
		Config: ec, Engine: s.engine, Queue: s.queues, Campaigns: s.camps, Store: s.store,
		Users: s.cfg.Users, Agents: s.cfg.Agents, Breaks: s.cfg.ContactCenter.Breaks, Queues: s.cfg.Queues,
		Clock: s.clock, Logger: s.logs.For("eccp"), Metrics: s.mx.Registerer(),
	})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	s.eccp = srv
	return nil
}

// httpHandlers are the routes the node adds to the HTTP listener: RWI's
// WebSocket, and the management of the ECCP clients kept in the store,
// which `pbx eccp client` uses while the PBX runs (it holds the store).
func (s *Node) httpHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		rwi.Path:                  s.rwi,
		"GET " + ECCPClientsPath:  web.LoopbackOnly(http.HandlerFunc(s.listECCPClients)),
		"POST " + ECCPClientsPath: web.LoopbackOnly(http.HandlerFunc(s.addECCPClient)),
		"DELETE " + ECCPClientsPath + "/{username}": web.LoopbackOnly(http.HandlerFunc(s.removeECCPClient)),
	}
}

// ECCPClientsPath is the admin API of the ECCP client accounts, loopback
// only like the rest of the admin API:
//
//	GET    /api/eccp/clients        every account: [{"username":..., "source":"pbx.yaml"|"store"}]
//	POST   /api/eccp/clients        add one to the store, or change its password: {"username":..., "password":...}; 201
//	DELETE /api/eccp/clients/{name} remove one from the store; 204, or 404 when the store has none
const ECCPClientsPath = "/api/eccp/clients"

// ECCPClientInfo is one account as GET /api/eccp/clients lists it: never
// its password.
type ECCPClientInfo struct {
	Username string `json:"username"`
	Source   string `json:"source"` // pbx.yaml (eccp.clients) or store (pbx eccp client add)
}

// maxClientJSON bounds the body of POST /api/eccp/clients.
const maxClientJSON = 4096

func (s *Node) listECCPClients(w http.ResponseWriter, r *http.Request) {
	out := []ECCPClientInfo{}
	for _, c := range s.cfg.ECCP.Clients {
		out = append(out, ECCPClientInfo{Username: c.Username, Source: "pbx.yaml"})
	}
	list, err := clients.List(s.store)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, c := range list {
		out = append(out, ECCPClientInfo{Username: c.Username, Source: "store"})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Node) addECCPClient(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxClientJSON)).Decode(&req); err != nil {
		http.Error(w, fmt.Sprintf("want {\"username\":..., \"password\":...}: %v", err), http.StatusBadRequest)
		return
	}
	if err := clients.Add(s.store, req.Username, req.Password); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, clients.ErrInvalid) {
			code = http.StatusBadRequest
		}
		http.Error(w, err.Error(), code)
		return
	}
	s.log.Info("eccp client added", "username", req.Username)
	writeJSON(w, http.StatusCreated, ECCPClientInfo{Username: req.Username, Source: "store"})
}

func (s *Node) removeECCPClient(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("username")
	if err := clients.Remove(s.store, name); err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, clients.ErrNotFound) {
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
		return
	}
	s.log.Info("eccp client removed", "username", name)
	w.WriteHeader(http.StatusNoContent)
}

// writeJSON answers v as JSON with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}
